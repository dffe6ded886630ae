"""reposts: 转载任务 (repost tasks), their unit × platform targets and the per-unit
lighter-review setting; CHECK constraints for the source kind, the platform and the target status

Revision ID: h18_repost
Revises: h21_finish
Create Date: 2026-12-06 17:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "h18_repost"
down_revision = "h21_finish"
branch_labels = None
depends_on = None

SOURCE_KINDS = ("content", "url", "platform_post")
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
TARGET_STATUSES = ("pending", "done", "done_late", "not_applicable", "overdue")


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_table(
        "repost_unit_settings",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("light_review_allowed", sa.Boolean(), nullable=False),
        sa.Column("allowed_by_id", sa.Integer(), nullable=True),
        sa.Column("allowed_at", sa.DateTime(), nullable=True),
        sa.Column("allowed_note", sa.Text(), nullable=True),
        sa.Column("light_review_enabled", sa.Boolean(), nullable=False),
        sa.Column("enabled_by_id", sa.Integer(), nullable=True),
        sa.Column("enabled_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allowed_by_id"], ["users.id"], name=op.f("fk_repost_unit_settings_allowed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enabled_by_id"], ["users.id"], name=op.f("fk_repost_unit_settings_enabled_by_id_users")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_repost_unit_settings_unit_id_units")),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_repost_unit_settings")),
    )
    op.create_table(
        "repost_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "source_kind", sa.Enum(*SOURCE_KINDS, name="repostsourcekind", native_enum=False, length=32), nullable=False
        ),
        sa.Column("source_content_id", sa.Integer(), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=True),
        sa.Column("source_title", sa.String(length=200), nullable=False),
        sa.Column("source_name", sa.String(length=100), nullable=False),
        sa.Column("platforms", sa.JSON(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(), nullable=False),
        sa.Column("workdays", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("parent_unit_id", sa.Integer(), nullable=True),
        sa.Column("issued_by_id", sa.Integer(), nullable=False),
        sa.Column("issuer_unit_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_repost_tasks_issued_by_id_users")),
        sa.ForeignKeyConstraint(["issuer_unit_id"], ["units.id"], name=op.f("fk_repost_tasks_issuer_unit_id_units")),
        sa.ForeignKeyConstraint(["parent_unit_id"], ["units.id"], name=op.f("fk_repost_tasks_parent_unit_id_units")),
        sa.ForeignKeyConstraint(
            ["source_content_id"], ["contents.id"], name=op.f("fk_repost_tasks_source_content_id_contents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repost_tasks")),
        sa.CheckConstraint(_in("source_kind", SOURCE_KINDS), name=op.f("ck_repost_tasks_repostsourcekind")),
    )
    with op.batch_alter_table("repost_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repost_tasks_deadline_at"), ["deadline_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_repost_tasks_issued_at"), ["issued_at"], unique=False)

    op.create_table(
        "repost_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.Enum(*PLATFORMS, name="platform", native_enum=False, length=32), nullable=False),
        sa.Column(
            "status", sa.Enum(*TARGET_STATUSES, name="reposttargetstatus", native_enum=False, length=32), nullable=False
        ),
        sa.Column("content_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["content_id"], ["contents.id"], name=op.f("fk_repost_targets_content_id_contents")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_repost_targets_decided_by_id_users")),
        sa.ForeignKeyConstraint(["task_id"], ["repost_tasks.id"], name=op.f("fk_repost_targets_task_id_repost_tasks")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_repost_targets_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repost_targets")),
        sa.UniqueConstraint("task_id", "unit_id", "platform", name=op.f("uq_repost_targets_task_id_unit_id_platform")),
        sa.CheckConstraint(_in("platform", PLATFORMS), name=op.f("ck_repost_targets_platform")),
        sa.CheckConstraint(_in("status", TARGET_STATUSES), name=op.f("ck_repost_targets_reposttargetstatus")),
    )
    with op.batch_alter_table("repost_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repost_targets_content_id"), ["content_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_repost_targets_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_repost_targets_task_id"), ["task_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_repost_targets_unit_id"), ["unit_id"], unique=False)


def downgrade():
    op.drop_table("repost_targets")
    op.drop_table("repost_tasks")
    op.drop_table("repost_unit_settings")
