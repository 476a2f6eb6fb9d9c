"""What the invoice form and CreateInvoice share: what QuickBooks would refuse, and the
term and due date an invoice gets."""

from __future__ import annotations

from datetime import date

from application.ports.accounting import InvoiceOptions
from application.views import DraftWarning
from domain.messages import MessageCode
from domain.payment_term import PaymentTerm
from domain.settings import CompanySettings

# A US QuickBooks customer has no tax registration field: the tax ID goes to ``ResaleNum``,
# which holds 16 characters (reference, "Tax identifiers"). Longer is refused, never cut.
US_TAX_ID_MAX = 16


def tax_id_warning(tax_id: str | None, options: InvoiceOptions | None) -> DraftWarning | None:
    """What QuickBooks could not keep of the customer's tax ID, if anything."""
    if tax_id and options and options.preferences.is_us_company and len(tax_id) > US_TAX_ID_MAX:
        return DraftWarning.of(
            MessageCode.TOO_LONG_FOR_QUICKBOOKS,
            "customer.tax_id",
            max=US_TAX_ID_MAX,
            length=len(tax_id),
        )
    return None


def currency_warnings(currency: str, options: InvoiceOptions) -> list[DraftWarning]:
    prefs = options.preferences
    if currency == prefs.home_currency:
        return []
    if not prefs.multicurrency_enabled:
        return [
            DraftWarning.of(
                MessageCode.CURRENCY_NOT_ENABLED,
                "currency",
                homeCurrency=prefs.home_currency,
                currency=currency,
            )
        ]
    if prefs.enabled_currencies and currency not in prefs.enabled_currencies:
        return [DraftWarning.of(MessageCode.CURRENCY_NOT_ADDED, "currency", currency=currency)]
    return []


def active_term(options: InvoiceOptions | None, *term_ids: str | None) -> PaymentTerm | None:
    """The first of ``term_ids`` (the most wanted first) that is an active QuickBooks term."""
    active = {term.id: term for term in options.terms if term.active} if options else {}
    return next((active[term_id] for term_id in term_ids if term_id in active), None)


def due_date_for(
    issue_date: date, settings: CompanySettings, term: PaymentTerm | None
) -> date | None:
    """The due date of an invoice given none: the company's rule decides, and when it defers to
    terms, ``term``'s date; None leaves it to the term QuickBooks applies (the customer's, else
    its company default)."""
    by_rule = settings.due_date_policy.due_date(issue_date)
    return term.due_date(issue_date) if by_rule is None and term is not None else by_rule
