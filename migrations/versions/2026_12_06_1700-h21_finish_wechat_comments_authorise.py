"""h21-finish: WeChat 群发's msg_data_id on deliveries (for the 留言 API) and the finding kind
``not_authorised`` (账号未授权，无法巡检)

Revision ID: h21_finish
Revises: f1_workorders
Create Date: 2026-12-06 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "h21_finish"
down_revision = "f1_workorders"
branch_labels = None
depends_on = None

FINDING_KINDS = (
    "unregistered",
    "closed_but_active",
    "inactive_14d",
    "zombie_90d",
    "name_mismatch",
    "subject_mismatch",
    "duplicate",
    "reopened",
    "inactive_warning",
    "filing_overdue",
    "unreviewed_post",
    "post_check_hit",
    "tampered",
    "post_removed",
    "account_unavailable",
    "interaction_overdue",
    "no_interaction_channel",
)
NEW_KINDS = (*FINDING_KINDS, "not_authorised")


def _kinds(values):
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_findings_findingkind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_findings_findingkind"), sa.column("kind").in_(values))


def upgrade():
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform_data_id", sa.String(length=64), nullable=True))
    _kinds(NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM findings WHERE kind = 'not_authorised'")
    _kinds(FINDING_KINDS)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("platform_data_id")
