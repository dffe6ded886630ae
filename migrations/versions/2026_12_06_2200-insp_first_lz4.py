"""inspection: the large text and JSON columns written for every live post and finding — live_posts.text,
check_hits, expected_text and findings.evidence — are compressed with lz4 on PostgreSQL (14 or later, built
with lz4; otherwise left as they are) instead of pglz: the first read of an account's posts spent more of
the database server's CPU compressing them than on anything else. Rows already stored keep their
compression; SQLite has no such setting (nothing to do).

Revision ID: insp_first_lz4
Revises: insp_perf_readings
Create Date: 2026-12-06 22:00:00
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "insp_first_lz4"
down_revision = "insp_perf_readings"
branch_labels = None
depends_on = None

COLUMNS = (
    ("live_posts", "text"),
    ("live_posts", "check_hits"),
    ("live_posts", "expected_text"),
    ("findings", "evidence"),
)


def _set(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    statements = " ".join(f"ALTER TABLE {t} ALTER COLUMN {c} SET COMPRESSION {method};" for t, c in COLUMNS)
    # A server built without lz4 (or older than 14) refuses: keep its default then.
    op.execute(f"DO $$ BEGIN {statements} EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL; END $$")


def upgrade():
    _set("lz4")


def downgrade():
    _set("pglz")
