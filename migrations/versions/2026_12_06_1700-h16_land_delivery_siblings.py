"""publishing: a content's other deliveries, read after its row lock, for the roll-up; an
account's posts awaiting the platform, read after the account's row lock, for batched polls

Revision ID: h16_land_delivery_siblings
Revises: h18_intake
Create Date: 2026-12-06 17:00:00

``delivery_siblings(content, delivery)`` locks the content row (FOR UPDATE) and then reads the
status of the content's other deliveries. It is called inside the statement that records a
delivery's result (publishers.lifecycle), so the roll-up of the content's status costs no round
trip of its own. Statements inside a PL/pgSQL function get fresh snapshots under READ
COMMITTED, so the read happens after the lock is held: of two workers settling a content's last
two deliveries at once, the second sees the first one's result (as ``roll_up`` does with two
statements). SQLite needs nothing (its writers are serial; it runs ``roll_up``).

``account_awaiting(account, known)`` locks the account row (FOR NO KEY UPDATE: inserts that
reference the account are not blocked) and then lists its deliveries accepted by the platform
and awaiting its answer, other than ``known``. One poll task reads every such post of an
account (publishers.poll): a delivery accepted while another of its account awaits joins that
poll instead of starting its own, and a poll that finds nothing pending any more checks before
it stops. Both ask under the account's lock, with a snapshot taken after it, so a delivery
accepted at the moment the account's poll ends is seen by one of the two.
"""

from alembic import op

revision = "h16_land_delivery_siblings"
down_revision = "h18_intake"
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
    op.execute(
        """
        CREATE OR REPLACE FUNCTION account_awaiting(p_account integer, p_known integer[])
        RETURNS integer[]
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            found integer[];
        BEGIN
            PERFORM 1 FROM accounts a WHERE a.id = p_account FOR NO KEY UPDATE;
            SELECT coalesce(array_agg(d.id ORDER BY d.id), '{}') INTO found
                FROM deliveries d
                WHERE d.account_id = p_account AND d.status = 'sending' AND d.platform_post_id IS NOT NULL
                  AND NOT (d.id = ANY (p_known));
            RETURN found;
        END;
        $$
        """
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS delivery_siblings(integer, integer)")
    op.execute("DROP FUNCTION IF EXISTS account_awaiting(integer, integer[])")
