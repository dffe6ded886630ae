"""publishing: a content's other deliveries, read after its row lock, for the roll-up

Revision ID: f6_delivery_siblings
Revises: e5_interaction
Create Date: 2026-12-06 14:00:00

``delivery_siblings(content, delivery)`` locks the content row (FOR UPDATE) and then reads the
status of the content's other deliveries. It is called inside the statement that records a
delivery's result (publishers.lifecycle), so the roll-up of the content's status costs no round
trip of its own. Statements inside a PL/pgSQL function get fresh snapshots under READ
COMMITTED, so the read happens after the lock is held: of two workers settling a content's last
two deliveries at once, the second sees the first one's result (as ``roll_up`` does with two
statements). SQLite needs nothing (its writers are serial; it runs ``roll_up``).
"""

from alembic import op

revision = "f6_delivery_siblings"
down_revision = "e5_interaction"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION delivery_siblings(p_content integer, p_delivery integer)
        RETURNS TABLE (content_status text, statuses text[])
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            SELECT c.status::text INTO content_status FROM contents c WHERE c.id = p_content FOR UPDATE;
            SELECT coalesce(array_agg(d.status::text), '{}') INTO statuses
                FROM deliveries d WHERE d.content_id = p_content AND d.id <> p_delivery;
            RETURN NEXT;
        END;
        $$
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS delivery_siblings(integer, integer)")
