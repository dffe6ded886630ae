"""notify: 每日汇总 — the per-user digest preference, the day's digest e-mails and the link of a
held e-mail delivery to the digest that carried it (no enum columns: no CHECK constraint)

Revision ID: h17_digest
Revises: h18_light
Create Date: 2026-12-06 18:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "h17_digest"
down_revision = "h18_light"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reminder_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_reminder_digests_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_digests")),
        sa.UniqueConstraint("key", name=op.f("uq_reminder_digests_key")),
    )
    with op.batch_alter_table("reminder_digests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_digests_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminder_digests_status"), ["status"], unique=False)

    with op.batch_alter_table("reminder_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_reminder_deliveries_digest_id"), ["digest_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_reminder_deliveries_digest_id_reminder_digests"), "reminder_digests", ["digest_id"], ["id"]
        )

    with op.batch_alter_table("notify_preferences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_digest", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("notify_preferences", schema=None) as batch_op:
        batch_op.drop_column("email_digest")
    with op.batch_alter_table("reminder_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_reminder_deliveries_digest_id_reminder_digests"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_reminder_deliveries_digest_id"))
        batch_op.drop_column("digest_id")
    with op.batch_alter_table("reminder_digests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_digests_status"))
        batch_op.drop_index(batch_op.f("ix_reminder_digests_user_id"))
    op.drop_table("reminder_digests")
