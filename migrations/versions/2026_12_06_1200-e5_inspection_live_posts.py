"""inspection: live posts, per-account inspection state, exceptions, imported posts

Revision ID: e5_inspection
Revises: e5_sessions_order
Create Date: 2026-12-06 12:00:00

New finding kinds (unreviewed_post, post_check_hit, tampered, post_removed, account_unavailable)
need nothing here: finding kinds are stored as non-native enums (VARCHAR(32)) without a CHECK.
"""

import sqlalchemy as sa
from alembic import op

revision = "e5_inspection"
down_revision = "e5_sessions_order"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "live_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("platform_post_id", sa.String(length=128), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("original", sa.Boolean(), nullable=True),
        sa.Column("source", sa.Enum("ours", "found", name="postsource", native_enum=False, length=32), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("expected_text", sa.Text(), nullable=True),
        sa.Column("tamper_state", sa.String(length=16), nullable=True),
        sa.Column("state", sa.Enum("live", "removed", name="poststate", native_enum=False, length=32), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("removed_reason", sa.String(length=200), nullable=True),
        sa.Column("seen_via", sa.String(length=32), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("check_hits", sa.JSON(), nullable=False),
        sa.Column("checked_version", sa.String(length=40), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_live_posts_account_id_accounts")),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], name=op.f("fk_live_posts_delivery_id_deliveries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_posts")),
        sa.UniqueConstraint("account_id", "platform_post_id", name=op.f("uq_live_posts_account_id_platform_post_id")),
    )
    op.create_index(op.f("ix_live_posts_account_id"), "live_posts", ["account_id"])
    op.create_index(op.f("ix_live_posts_delivery_id"), "live_posts", ["delivery_id"])
    op.create_index(op.f("ix_live_posts_source"), "live_posts", ["source"])
    op.create_index(op.f("ix_live_posts_state"), "live_posts", ["state"])
    op.create_index("ix_live_posts_published_checked", "live_posts", ["published_at", "checked_version"])
    op.create_table(
        "live_post_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("live_post_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["live_post_id"], ["live_posts.id"], name=op.f("fk_live_post_exceptions_live_post_id_live_posts")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_live_post_exceptions_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_post_exceptions")),
        sa.UniqueConstraint("live_post_id", name=op.f("uq_live_post_exceptions_live_post_id")),
    )
    op.create_table(
        "account_inspections",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("not_checkable_reason", sa.String(length=64), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.JSON(), nullable=True),
        sa.Column("posts_seen", sa.Integer(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_inspections_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_inspections")),
    )
    op.create_index(op.f("ix_account_inspections_last_success_at"), "account_inspections", ["last_success_at"])
    op.create_table(
        "imported_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("platform_uid", sa.String(length=128), nullable=False),
        sa.Column("platform_post_id", sa.String(length=128), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_posts")),
        sa.UniqueConstraint(
            "platform",
            "platform_uid",
            "platform_post_id",
            name=op.f("uq_imported_posts_platform_platform_uid_platform_post_id"),
        ),
    )
    op.create_index(op.f("ix_imported_posts_imported_at"), "imported_posts", ["imported_at"])


def downgrade():
    op.drop_table("imported_posts")
    op.drop_table("account_inspections")
    op.drop_table("live_post_exceptions")
    op.drop_index("ix_live_posts_published_checked", table_name="live_posts")
    op.drop_table("live_posts")
