"""reposts: 撤销任务 — who cancelled a repost task, when and why; the target status ``cancelled``
(CHECK constraint ck_repost_targets_reposttargetstatus recreated with it)

Revision ID: h18_cancel
Revises: h17_digest
Create Date: 2026-12-06 19:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "h18_cancel"
down_revision = "h17_digest"
branch_labels = None
depends_on = None

OLD_STATUSES = ("pending", "done", "done_late", "not_applicable", "overdue")
NEW_STATUSES = (*OLD_STATUSES, "cancelled")
CHECK = "ck_repost_targets_reposttargetstatus"


def upgrade():
    with op.batch_alter_table("repost_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_repost_tasks_cancelled_by_id_users"), "users", ["cancelled_by_id"], ["id"]
        )
    with op.batch_alter_table("repost_targets", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), sa.column("status").in_(NEW_STATUSES))


def downgrade():
    # the old schema has no way to say 已撤销: refuse rather than reopen withdrawn tasks
    cancelled = op.get_bind().execute(sa.text("SELECT count(*) FROM repost_targets WHERE status = 'cancelled'"))
    if cancelled.scalar():
        raise RuntimeError("repost_targets has cancelled rows: the previous schema cannot hold them")
    with op.batch_alter_table("repost_targets", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), sa.column("status").in_(OLD_STATUSES))
    with op.batch_alter_table("repost_tasks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_repost_tasks_cancelled_by_id_users"), type_="foreignkey")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_by_id")
        batch_op.drop_column("cancelled_at")
