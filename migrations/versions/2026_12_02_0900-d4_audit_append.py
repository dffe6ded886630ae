"""audit: append chained entries in one round trip on PostgreSQL

Revision ID: d4_audit_append
Revises: c3_registry
Create Date: 2026-12-02 09:00:00

``audit_append()`` takes the chain lock, reads the head and inserts the transaction's entries,
each hashed as sha256(canonical prefix + '"prev_hash":"<head>"}') — the same text the
application hashes (audit.service.compute_hash), so `flask audit verify` checks these rows as
before. It replaces three statements per committing transaction (lock, read head, INSERT) with
one. Statements inside a PL/pgSQL function get fresh snapshots under READ COMMITTED, so the
head is read after the lock is held. SQLite needs nothing (its writers are serial).
"""

from alembic import op

revision = "d4_audit_append"
down_revision = "c3_registry"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION audit_append(
            p_lock bigint, p_prefix text[], p_at timestamp[], p_actor_id integer[],
            p_actor_label text[], p_action text[], p_object_type text[], p_object_id text[],
            p_before text[], p_after text[]
        ) RETURNS TABLE (entry_id integer, entry_prev_hash text, entry_hash text)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            head text;
        BEGIN
            PERFORM pg_advisory_xact_lock(p_lock);
            SELECT a.hash INTO head FROM audit_entries a ORDER BY a.id DESC LIMIT 1;
            head := coalesce(head, repeat('0', 64));
            FOR i IN 1 .. coalesce(array_length(p_prefix, 1), 0) LOOP
                entry_prev_hash := head;
                entry_hash := encode(
                    sha256(convert_to(p_prefix[i] || '"prev_hash":"' || head || '"}', 'UTF8')), 'hex'
                );
                INSERT INTO audit_entries
                    (at, actor_id, actor_label, action, object_type, object_id, before, after, prev_hash, hash)
                VALUES
                    (p_at[i], p_actor_id[i], p_actor_label[i], p_action[i], p_object_type[i], p_object_id[i],
                     p_before[i]::json, p_after[i]::json, head, entry_hash)
                RETURNING id INTO entry_id;
                RETURN NEXT;
                head := entry_hash;
            END LOOP;
        END;
        $$
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "DROP FUNCTION IF EXISTS audit_append(bigint, text[], timestamp[], integer[], text[], text[], "
        "text[], text[], text[], text[])"
    )
