"""notify: the repost due-soon and overdue reminders are keyed per deadline

The keys ``repost-due:TASK:UNIT`` and ``repost-overdue:TASK:UNIT`` become
``…:TASK:UNIT:YYYYMMDDTHHMMSS`` (the deadline, UTC) so that a deadline moved by 修改任务 is
reminded of again. Reminders already sent are given the task's current deadline, so nothing is
sent twice for a deadline that did not move.

Revision ID: polish2_due_keys
Revises: h18_cancel
Create Date: 2026-12-06 20:00:00
"""

from datetime import datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "polish2_due_keys"
down_revision = "h18_cancel"
branch_labels = None
depends_on = None

KINDS = ("repost_due", "repost_overdue")


def _rows(bind):
    return bind.execute(
        sa.text("SELECT id, key, event_key FROM reminders WHERE kind IN ('repost_due', 'repost_overdue')")
    ).all()


def upgrade():
    bind = op.get_bind()
    deadlines = {row.id: row.deadline_at for row in bind.execute(sa.text("SELECT id, deadline_at FROM repost_tasks"))}
    for rid, key, event_key in _rows(bind):
        parts = event_key.split(":")
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) not in deadlines:
            continue  # already per deadline, or a task gone
        deadline = deadlines[int(parts[1])]
        if isinstance(deadline, str):  # SQLite hands back text
            deadline = datetime.fromisoformat(deadline)
        suffix = deadline.strftime("%Y%m%dT%H%M%S")
        new_event = f"{event_key}:{suffix}"
        bind.execute(
            sa.text("UPDATE reminders SET event_key = :e, key = :k WHERE id = :id"),
            {"e": new_event, "k": new_event + key[len(event_key) :], "id": rid},
        )


def downgrade():
    bind = op.get_bind()
    taken: set[str] = set()
    for rid, key, event_key in _rows(bind):
        parts = event_key.split(":")
        if len(parts) != 4:
            continue
        old_event = ":".join(parts[:3])
        old_key = old_event + key[len(event_key) :]
        if old_key in taken:  # a moved deadline was reminded of again: keep the first under the old key
            bind.execute(sa.text("DELETE FROM reminder_deliveries WHERE reminder_id = :id"), {"id": rid})
            bind.execute(sa.text("DELETE FROM reminders WHERE id = :id"), {"id": rid})
            continue
        taken.add(old_key)
        bind.execute(
            sa.text("UPDATE reminders SET event_key = :e, key = :k WHERE id = :id"),
            {"e": old_event, "k": old_key, "id": rid},
        )
