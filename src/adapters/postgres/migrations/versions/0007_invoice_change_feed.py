"""Every change to an invoice row is announced on the ``dealbooks_invoices`` channel.

The read model keeps its answers (GetInvoice, ListInvoices) in memory while it listens on that
channel, and forgets a deal's answers when a change to one of its invoices is announced, from
whichever process made it (the service, the worker, a person with psql). The payload is a JSON
array ``[company_id, deal_id, invoice_id]``; TRUNCATE announces ``[]``: forget everything.

NOTIFY is transactional: a rolled-back change announces nothing, and listeners hear a committed
one after the commit, in commit order. Identical payloads within one transaction arrive once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHANNEL = "dealbooks_invoices"

_ROW_FUNCTION = f"""
CREATE FUNCTION invoices_announce_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_row invoices%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_row := OLD;
    ELSE
        v_row := NEW;
    END IF;
    PERFORM pg_notify('{CHANNEL}', json_build_array(v_row.company_id, v_row.deal_id, v_row.id)::text);
    IF TG_OP = 'UPDATE' AND (OLD.company_id, OLD.deal_id) IS DISTINCT FROM (NEW.company_id, NEW.deal_id) THEN
        PERFORM pg_notify('{CHANNEL}', json_build_array(OLD.company_id, OLD.deal_id, OLD.id)::text);
    END IF;
    RETURN NULL;
END $$
"""

_TRUNCATE_FUNCTION = f"""
CREATE FUNCTION invoices_announce_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '[]');
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(_ROW_FUNCTION)
    op.execute(_TRUNCATE_FUNCTION)
    op.execute(
        "CREATE TRIGGER invoices_announce_change AFTER INSERT OR UPDATE OR DELETE ON invoices "
        "FOR EACH ROW EXECUTE FUNCTION invoices_announce_change()"
    )
    op.execute(
        "CREATE TRIGGER invoices_announce_truncate AFTER TRUNCATE ON invoices "
        "FOR EACH STATEMENT EXECUTE FUNCTION invoices_announce_truncate()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER invoices_announce_truncate ON invoices")
    op.execute("DROP TRIGGER invoices_announce_change ON invoices")
    op.execute("DROP FUNCTION invoices_announce_truncate()")
    op.execute("DROP FUNCTION invoices_announce_change()")
