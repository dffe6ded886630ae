"""registry: composite indexes for filtered ledger lists (platform+status, platform+search, overdue)

Revision ID: c3_registry
Revises: b2_jobs
Create Date: 2026-11-22 10:00:00

`GET /api/v1/accounts?platform=&status=` counts and pages with one index scan on
(platform, status, id) instead of combining two single-column indexes and visiting the rows.
A search within one platform (`?q=&platform=`) uses GIN indexes over (platform, name) and
(platform, platform_uid) (btree_gin for the platform enum, pg_trgm for the text) on
PostgreSQL. SQLite gets plain indexes of the same names so models and schema agree.
`?overdue=true` pages and counts from a partial index over the few accounts that have a
filing due (id, filing_due_on), newest first, without visiting the table.
"""

import sqlalchemy as sa
from alembic import op

revision = "c3_registry"
down_revision = "b2_jobs"
branch_labels = None
depends_on = None

TRGM = (("ix_accounts_platform_name_trgm", "name"), ("ix_accounts_platform_uid_search_trgm", "platform_uid"))


PENDING_FILING = "filing_due_on IS NOT NULL"


def upgrade():
    op.create_index("ix_accounts_platform_status_id", "accounts", ["platform", "status", "id"])
    op.create_index(
        "ix_accounts_filing_pending",
        "accounts",
        ["id", "filing_due_on"],
        postgresql_where=sa.text(PENDING_FILING),
        sqlite_where=sa.text(PENDING_FILING),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        for name, column in TRGM:
            op.create_index(
                name,
                "accounts",
                ["platform", column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )
        return
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for name, column in TRGM:
            batch_op.create_index(name, ["platform", column], unique=False)


def downgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for name, _column in TRGM:
            batch_op.drop_index(name)
        batch_op.drop_index("ix_accounts_platform_status_id")
        batch_op.drop_index("ix_accounts_filing_pending")
    # btree_gin stays: other objects may use it, and dropping an extension needs ownership.
