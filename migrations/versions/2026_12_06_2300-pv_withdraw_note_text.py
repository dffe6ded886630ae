"""deliveries: the note a withdrawal leaves on a delivery the platform cannot delete through its API
(publishers/withdraw.py NO_DELETE_API_MESSAGE) was reworded to name the row's own button (commit 2709071);
rows written before keep the old text in last_error_message, which names a button that no longer exists.
Rewrite exactly that old text to the new one; nothing else is touched. Both texts are spelled out here so
the migration keeps meaning the same when the constant changes again.

Revision ID: pv_withdraw_note_text
Revises: insp_first_lz4
Create Date: 2026-12-06 23:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "pv_withdraw_note_text"
down_revision = "insp_first_lz4"
branch_labels = None
depends_on = None

OLD_TEXT = "该平台不支持接口删除，请运营人员在平台后台手工删除后点击“已处理”"
NEW_TEXT = "该平台不支持接口删除，请在平台后台手工删除后，点击本行的“已人工处理：已在平台删除”"

_REWRITE = sa.text("UPDATE deliveries SET last_error_message = :new WHERE last_error_message = :old")


def rewrite(bind: Any, old: str, new: str) -> int:
    """Replace ``old`` by ``new`` where it is the whole message; the number of rows changed."""
    return int(bind.execute(_REWRITE, {"old": old, "new": new}).rowcount or 0)


def upgrade():
    rewrite(op.get_bind(), OLD_TEXT, NEW_TEXT)


def downgrade():
    # The code before 2709071 shows the old text; rows carrying the new one get it back.
    rewrite(op.get_bind(), NEW_TEXT, OLD_TEXT)
