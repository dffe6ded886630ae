"""interaction: comments and messages (互动回应) and per-account interaction channels

Revision ID: e5_interaction
Revises: e5_inspection
Create Date: 2026-12-06 13:00:00

The finding kinds ``interaction_overdue`` and ``no_interaction_channel`` need no change: the
kind column is a non-native enum (VARCHAR(32)) without a CHECK constraint.
"""

import sqlalchemy as sa
from alembic import op

revision = "e5_interaction"
down_revision = "e5_inspection"
branch_labels = None
depends_on = None

PLATFORMS = (
    "weibo",
    "wechat",
    "douyin",
    "toutiao",
    "kuaishou",
    "bilibili",
    "xiaohongshu",
    "channels",
    "baijiahao",
    "app",
    "miniprogram",
    "other",
)


def upgrade():
    op.create_table(
        "interaction_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.Enum(*PLATFORMS, name="platform", native_enum=False, length=32), nullable=False),
        sa.Column("kind", sa.Enum("comment", "message", name="itemkind", native_enum=False, length=32), nullable=False),
        sa.Column("platform_item_id", sa.String(length=128), nullable=False),
        sa.Column("post_ref", sa.String(length=200), nullable=True),
        sa.Column("author_ref", sa.String(length=128), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("reply_platform_id", sa.String(length=128), nullable=True),
        sa.Column("handled_elsewhere", sa.Boolean(), nullable=False),
        sa.Column("handled_reason", sa.Text(), nullable=True),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_interaction_items_account_id_accounts")),
        sa.ForeignKeyConstraint(["handler_id"], ["users.id"], name=op.f("fk_interaction_items_handler_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_items")),
        sa.UniqueConstraint(
            "account_id", "kind", "platform_item_id", name=op.f("uq_interaction_items_account_id_kind_platform_item_id")
        ),
    )
    with op.batch_alter_table("interaction_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interaction_items_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_interaction_items_received_at"), ["received_at"], unique=False)
        batch_op.create_index(
            "ix_interaction_items_account_open", ["account_id", "replied_at", "received_at"], unique=False
        )

    op.create_table(
        "interaction_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("comments_open", sa.Boolean(), nullable=True),
        sa.Column("messages_open", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=True),
        sa.Column("polled_at", sa.DateTime(), nullable=True),
        sa.Column("comments_readable", sa.Boolean(), nullable=True),
        sa.Column("messages_readable", sa.Boolean(), nullable=True),
        sa.Column("last_error", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_interaction_channels_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_interaction_channels_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_channels")),
        sa.UniqueConstraint("account_id", name=op.f("uq_interaction_channels_account_id")),
    )


def downgrade():
    op.drop_table("interaction_channels")
    with op.batch_alter_table("interaction_items", schema=None) as batch_op:
        batch_op.drop_index("ix_interaction_items_account_open")
        batch_op.drop_index(batch_op.f("ix_interaction_items_received_at"))
        batch_op.drop_index(batch_op.f("ix_interaction_items_account_id"))
    op.drop_table("interaction_items")
