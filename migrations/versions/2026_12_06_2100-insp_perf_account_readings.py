"""inspection: the reading per account — when its posts were last read and the window that reading
covers (``read_window``: all | since | listed, with ``read_since``), so that an unchanged post's
row is no longer rewritten on every reading (CHECK constraint ck_account_inspections_readwindow);
live_posts loses its single-column indexes on account_id (the unique (account_id, platform_post_id)
leads with it), source and state (every read of those is per account): each cost every insert

Revision ID: insp_perf_readings
Revises: polish2_due_keys
Create Date: 2026-12-06 21:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "insp_perf_readings"
down_revision = "polish2_due_keys"
branch_labels = None
depends_on = None

WINDOWS = ("all", "since", "listed")


def upgrade():
    with op.batch_alter_table("account_inspections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "read_window",
                sa.Enum(*WINDOWS, name="readwindow", native_enum=False, length=32, create_constraint=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("read_since", sa.DateTime(), nullable=True))
    for column in ("account_id", "source", "state"):
        op.drop_index(op.f(f"ix_live_posts_{column}"), table_name="live_posts")


def downgrade():
    for column in ("account_id", "source", "state"):
        op.create_index(op.f(f"ix_live_posts_{column}"), "live_posts", [column])
    with op.batch_alter_table("account_inspections", schema=None) as batch_op:
        batch_op.drop_column("read_since")
        batch_op.drop_column("read_window")
        batch_op.drop_column("read_at")
