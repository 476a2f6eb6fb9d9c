"""QuickBooks' facts about an invoice, applied to ours (refresh, webhooks, CDC)."""

from __future__ import annotations

from datetime import date, datetime

from application.ports.accounting import AccountingInvoice
from domain.invoice import Invoice, InvoiceState


def apply_facts(
    invoice: Invoice, facts: AccountingInvoice | None, *, today: date, now: datetime
) -> bool:
    """Bring one invoice in line with QuickBooks (None: QuickBooks no longer has it).

    Never moves an invoice backwards: facts older than what we applied last are ignored.
    Returns True when something was recorded.
    """
    changed = False
    if invoice.state in (InvoiceState.CREATING, InvoiceState.CREATE_FAILED, InvoiceState.DELETED):
        return False
    if facts is None:
        invoice.delete(now)
        return True
    if (
        invoice.sync_token is not None
        and facts.sync_token.isdigit()
        and invoice.sync_token.isdigit()
    ) and int(facts.sync_token) < int(invoice.sync_token):
        return False  # an older version of the invoice than the one we hold
    if invoice.state is not InvoiceState.VOIDED:
        changed = invoice.apply_accounting_facts(
            facts.total,
            facts.balance,
            facts.sync_token,
            facts.due_date,
            now,
            voided=facts.voided,
            tax=facts.tax,
        )
    if invoice.record_overdue(today, now):
        changed = True
    invoice.mark_synced(now)
    return changed
