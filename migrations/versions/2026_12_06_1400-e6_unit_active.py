"""units.is_active: an admin can deactivate (停用) a unit from the admin console

Revision ID: e6_unit_active
Revises: f6_enum_checks
Create Date: 2026-12-06 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e6_unit_active"
down_revision = "f6_enum_checks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_column("is_active")
