"""reposts: the lighter review (简化审核) — repost_targets.converted_hash (the content hash right
after 一键转为稿件, so it holds only for an unedited repost) and the review decision ``skipped``
(初审/复审 omitted with the office's permission)

Revision ID: h18_light
Revises: h16_land_delivery_siblings
Create Date: 2026-12-06 06:30:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "h18_light"
down_revision = "h16_land_delivery_siblings"
branch_labels = None
depends_on = None

DECISIONS = ("submit", "approve", "reject")
NEW_DECISIONS = (*DECISIONS, "skipped")


def _decisions(values):
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_reviews_reviewdecision"), type_="check")
        batch_op.create_check_constraint(op.f("ck_reviews_reviewdecision"), sa.column("decision").in_(values))


def upgrade():
    with op.batch_alter_table("repost_targets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("converted_hash", sa.String(length=64), nullable=True))
    _decisions(NEW_DECISIONS)


def downgrade():
    # a skipped stage becomes a voided approval: the lighter review is gone, the record stays
    op.execute("UPDATE reviews SET decision = 'approve', voided = true WHERE decision = 'skipped'")
    _decisions(DECISIONS)
    with op.batch_alter_table("repost_targets", schema=None) as batch_op:
        batch_op.drop_column("converted_hash")
