"""jobs: parameters and timing of background jobs (imports, exports, discovery runs)

Revision ID: b2_jobs
Revises: a1_registry
Create Date: 2026-11-22 09:00:00

A job keeps what it was asked to do (``params``: filters, file name, the stored upload's
sha256), when it was handed to the queue (``enqueued_at``, for re-sending lost messages), and
when it started and last reported (``started_at``, ``heartbeat_at``, for finding jobs whose
worker died).
"""

import sqlalchemy as sa
from alembic import op

revision = "b2_jobs"
down_revision = "a1_registry"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("enqueued_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("started_at")
        batch_op.drop_column("enqueued_at")
        batch_op.drop_column("params")
