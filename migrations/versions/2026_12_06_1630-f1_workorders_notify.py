"""workorders and notify: 整改 work orders with their history, reminders, their deliveries,
per-user notification preferences and group-robot webhooks

Revision ID: f1_workorders
Revises: e6_scoring
Create Date: 2026-12-06 16:30:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f1_workorders"
down_revision = "e6_scoring"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notify_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("robot_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notify_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notify_preferences")),
    )
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=240), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_reminders_unit_id_units")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_reminders_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("key", name=op.f("uq_reminders_key")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_event_key"), ["event_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_user_id"), ["user_id"], unique=False)

    op.create_table(
        "robot_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_robot_webhooks_created_by_id_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_robot_webhooks_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_robot_webhooks")),
    )
    with op.batch_alter_table("robot_webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_robot_webhooks_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "reminder_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=260), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("robot_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reminder_id"], ["reminders.id"], name=op.f("fk_reminder_deliveries_reminder_id_reminders")
        ),
        sa.ForeignKeyConstraint(
            ["robot_id"], ["robot_webhooks.id"], name=op.f("fk_reminder_deliveries_robot_id_robot_webhooks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_deliveries")),
        sa.UniqueConstraint("target", name=op.f("uq_reminder_deliveries_target")),
    )
    with op.batch_alter_table("reminder_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_deliveries_reminder_id"), ["reminder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminder_deliveries_status"), ["status"], unique=False)

    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "issued",
                "submitted",
                "rechecking",
                "returned",
                "accepted",
                "verified",
                "cancelled",
                name="workorderstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("due_is_exact", sa.Boolean(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("escalated_to", sa.JSON(), nullable=True),
        sa.Column("recheck_requested_at", sa.DateTime(), nullable=True),
        sa.Column("last_recheck", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["finding_id"], ["findings.id"], name=op.f("fk_work_orders_finding_id_findings")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_work_orders_issued_by_id_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_work_orders_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
        sa.CheckConstraint(
            "status IN ('issued', 'submitted', 'rechecking', 'returned', 'accepted', 'verified', 'cancelled')",
            name=op.f("ck_work_orders_workorderstatus"),
        ),
        sa.UniqueConstraint("finding_id", name=op.f("uq_work_orders_finding_id")),
    )
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_orders_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_orders_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_orders_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "work_order_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_work_order_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["work_orders.id"], name=op.f("fk_work_order_events_order_id_work_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_events")),
    )
    with op.batch_alter_table("work_order_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_order_events_order_id"), ["order_id"], unique=False)


def downgrade():
    with op.batch_alter_table("work_order_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_events_order_id"))

    op.drop_table("work_order_events")
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_orders_unit_id"))
        batch_op.drop_index(batch_op.f("ix_work_orders_status"))
        batch_op.drop_index(batch_op.f("ix_work_orders_due_on"))

    op.drop_table("work_orders")
    with op.batch_alter_table("reminder_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_reminder_deliveries_reminder_id"))

    op.drop_table("reminder_deliveries")
    with op.batch_alter_table("robot_webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_robot_webhooks_unit_id"))

    op.drop_table("robot_webhooks")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_user_id"))
        batch_op.drop_index(batch_op.f("ix_reminders_kind"))
        batch_op.drop_index(batch_op.f("ix_reminders_event_key"))
        batch_op.drop_index(batch_op.f("ix_reminders_created_at"))

    op.drop_table("reminders")
    op.drop_table("notify_preferences")
