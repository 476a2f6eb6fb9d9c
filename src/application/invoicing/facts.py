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
    if _follow_recorded(invoice, facts, now):
        changed = True
    if invoice.record_overdue(today, now):
        changed = True
    invoice.mark_synced(now)
    return changed


def _follow_recorded(invoice: Invoice, facts: AccountingInvoice, now: datetime) -> bool:
    """Terms, class and location as QuickBooks has them now. One QuickBooks answered by id
    alone has no name to show: a class or location is kept as it was, and so is a term with
    the same id; a term with another id is kept without a name (shown as none, rather than
    as the term it no longer has)."""
    unnamed = facts.unnamed
    terms = (facts.terms_id, facts.terms_name)
    if "terms" in unnamed:
        same = facts.terms_id == invoice.terms_id
        terms = (facts.terms_id, invoice.terms_name if same else None)
    return invoice.follow_recorded(
        terms,
        invoice.class_name if "class" in unnamed else facts.class_name,
        invoice.location_name if "location" in unnamed else facts.location_name,
        now,
    )
