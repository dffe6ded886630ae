"""registry: ledger search indexes (pg_trgm on PostgreSQL)

Revision ID: a1_registry
Revises: 92de09392ef8
Create Date: 2026-11-22 00:00:00

`GET /api/v1/accounts?q=` matches name or platform uid anywhere (ILIKE '%q%'). On PostgreSQL
trigram GIN indexes answer that in a few milliseconds at 100,000 accounts for terms of three
or more characters (bench/registry.py). SQLite gets plain indexes of the same names so that
the models and the schema agree on both databases (`flask db check`).
"""

from alembic import op

revision = "a1_registry"
down_revision = "92de09392ef8"
branch_labels = None
depends_on = None

INDEXES = (("ix_accounts_name_trgm", "name"), ("ix_accounts_platform_uid_trgm", "platform_uid"))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in INDEXES:
            op.create_index(name, "accounts", [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
        return
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for name, column in INDEXES:
            batch_op.create_index(name, [column], unique=False)


def downgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        for name, _column in INDEXES:
            batch_op.drop_index(name)
    # pg_trgm stays: other objects may use it, and dropping an extension needs ownership.
