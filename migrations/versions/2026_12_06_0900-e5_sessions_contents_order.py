"""auth: session generation (server-side logout); contents: index for the list's order

Revision ID: e5_sessions_order
Revises: d4_audit_append
Create Date: 2026-12-06 09:00:00

``users.session_generation`` is stored in the session cookie at login and compared on every
request; logout, a new password and deactivation bump it, so a cookie copied before stops
working (the cookie no longer carries any part of the password hash).
``ix_contents_updated_at_id`` serves GET /contents' ``ORDER BY updated_at DESC, id DESC``.
"""

from alembic import op
import sqlalchemy as sa

revision = "e5_sessions_order"
down_revision = "d4_audit_append"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("contents", schema=None) as batch_op:
        batch_op.create_index("ix_contents_updated_at_id", ["updated_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("contents", schema=None) as batch_op:
        batch_op.drop_index("ix_contents_updated_at_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
