"""credential health, WeChat 群发 choice, Douyin 代发 settings

Revision ID: e6_creds_mass
Revises: e5_interaction
Create Date: 2026-12-06 14:00:00

The delivery status ``held`` needs no change: the status column is a non-native enum
(VARCHAR(32)) without a CHECK constraint.
"""

import sqlalchemy as sa
from alembic import op

revision = "e6_creds_mass"
down_revision = "e5_interaction"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("send_mode", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("started_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_deliveries_started_by_id_users", "users", ["started_by_id"], ["id"])
    op.create_table(
        "target_send_modes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), sa.ForeignKey("contents.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("chosen_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_id", "account_id"),
    )
    op.create_index("ix_target_send_modes_content_id", "target_send_modes", ["content_id"])
    op.create_table(
        "account_publish_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False, unique=True),
        sa.Column("own_account", sa.Boolean(), nullable=False),
        sa.Column("own_account_note", sa.Text(), nullable=True),
        sa.Column("own_account_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("own_account_at", sa.DateTime(), nullable=True),
        sa.Column("sync_enabled", sa.Boolean(), nullable=False),
        sa.Column("delete_enabled", sa.Boolean(), nullable=False),
        sa.Column("mass_per_day", sa.Integer(), nullable=True),
        sa.Column("mass_per_month", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "credential_health",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("accounts.id"), nullable=False, unique=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("check_ok", sa.Boolean(), nullable=True),
        sa.Column("check_code", sa.String(length=64), nullable=True),
        sa.Column("check_message", sa.Text(), nullable=True),
        sa.Column("api_eligible", sa.Boolean(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("warning", sa.Text(), nullable=True),
        sa.Column("warning_level", sa.String(length=16), nullable=True),
        sa.Column("warned_at", sa.DateTime(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("credential_health")
    op.drop_table("account_publish_settings")
    op.drop_index("ix_target_send_modes_content_id", table_name="target_send_modes")
    op.drop_table("target_send_modes")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("fk_deliveries_started_by_id_users", type_="foreignkey")
        batch.drop_column("started_by_id")
        batch.drop_column("send_mode")
