"""What the invoice form and CreateInvoice share: what QuickBooks would refuse, and the
term and due date an invoice gets."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from application.ports.accounting import US_NON_TAXABLE, US_TAXABLE, InvoiceOptions, TaxCodeOption
from application.views import DraftWarning
from domain.invoice import Invoice, InvoiceState
from domain.invoice_line import InvoiceLine, InvoiceTotals, TaxMethod, TaxPart
from domain.messages import MessageCode
from domain.money import Money
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


def taxed_by_code(
    lines: Sequence[InvoiceLine],
    options: InvoiceOptions | None,
    sales_tax_code_id: str | None = None,
    issue_date: date | None = None,
) -> tuple[tuple[InvoiceLine, ...], list[DraftWarning]]:
    """The lines as QuickBooks will tax them on ``issue_date`` (the rate in force then; None:
    today's), and a warning for each line whose own rate QuickBooks will not charge.

    Outside the US QuickBooks charges each line its tax code's rate, whatever rate the line
    says (a coded line without a rate takes the code's, exclusive of tax unless it says
    inclusive). With US automated sales tax QuickBooks computes the tax itself: see
    :func:`taxed_by_quickbooks`; other US companies charge one sales tax code on the taxable
    lines: see :func:`taxed_by_sales_tax_code`. Codes whose rate QuickBooks computes are left
    alone."""
    if options is None:
        return tuple(lines), []
    if options.preferences.automated_sales_tax:
        return taxed_by_quickbooks(lines)
    if options.preferences.is_us_company:
        return taxed_by_sales_tax_code(lines, options, sales_tax_code_id, issue_date)
    rates = {c.id: c for c in options.tax_codes if c.rate_percent is not None}
    taxed: list[InvoiceLine] = []
    warnings: list[DraftWarning] = []
    for index, line in enumerate(lines):
        code = rates.get(line.tax_code_ref or "")
        rate = code.rate_on(issue_date) if code is not None else None
        if line.is_discount or code is None or rate is None:
            taxed.append(line)
            continue
        if line.tax_rate not in (0, rate):
            warnings.append(
                DraftWarning.of(
                    MessageCode.TAX_RATE_DIFFERS_FROM_CODE,
                    f"lines[{index}].tax_rate",
                    code=code.name,
                    rate=format(rate.normalize(), "f"),
                    value=format(line.tax_rate.normalize(), "f"),
                )
            )
        method = line.tax_method
        if rate == 0:
            method = TaxMethod.NONE
        elif method is TaxMethod.NONE:
            method = TaxMethod.EXCLUSIVE
        parts = code.parts_on(issue_date)
        taxed.append(dataclasses.replace(line, tax_rate=rate, tax_method=method, tax_parts=parts))
    return tuple(taxed), warnings


def taxed_by_quickbooks(
    lines: Sequence[InvoiceLine],
) -> tuple[tuple[InvoiceLine, ...], list[DraftWarning]]:
    """US automated sales tax: QuickBooks picks the rate from the ship-to address, so a line
    carries no rate of ours, only whether it is taxable (TAX / NON; none lets the item decide).
    A line that had a rate is taxable, and a warning says its rate is not used."""
    untaxed: list[InvoiceLine] = []
    warnings: list[DraftWarning] = []
    for index, line in enumerate(lines):
        had_rate = line.tax_method is not TaxMethod.NONE and line.tax_rate != 0
        if not had_rate and line.tax_rate == 0:
            untaxed.append(line)
            continue
        if had_rate:
            warnings.append(
                DraftWarning.of(
                    MessageCode.TAX_BY_QUICKBOOKS,
                    f"lines[{index}].tax_rate",
                    value=format(line.tax_rate.normalize(), "f"),
                )
            )
            warnings += _tax_on_top(line, index)
        code = line.tax_code_ref or (US_TAXABLE if had_rate else None)
        untaxed.append(
            dataclasses.replace(
                line,
                tax_rate=Decimal(0),
                tax_method=TaxMethod.NONE,
                tax_code_ref=code,
                tax_parts=(),
            )
        )
    return tuple(untaxed), warnings


def _tax_on_top(line: InvoiceLine, index: int) -> list[DraftWarning]:
    """A price that includes tax in Pipedrive is a price before tax in a US company (no US
    invoice is tax-inclusive: reference §3.2 GlobalTaxCalculation, "not applicable to US
    companies"), so the customer pays the tax on top of it: said, as the total then exceeds
    the deal's. The price itself is kept (a changed one would not be the deal's either)."""
    if line.tax_method is not TaxMethod.INCLUSIVE or line.tax_rate == 0:
        return []
    value = format(line.tax_rate.normalize(), "f")
    return [
        DraftWarning.of(MessageCode.TAX_ON_TOP_OF_PRICE, f"lines[{index}].unit_price", value=value)
    ]


def sales_tax_code(options: InvoiceOptions | None, code_id: str | None) -> TaxCodeOption | None:
    """The active sales tax code ``code_id`` of a US company without automated sales tax."""
    codes = options.sales_tax_codes if options else ()
    return next((c for c in codes if c.id == code_id and c.active), None)


def taxed_by_sales_tax_code(
    lines: Sequence[InvoiceLine],
    options: InvoiceOptions,
    code_id: str | None,
    issue_date: date | None = None,
) -> tuple[tuple[InvoiceLine, ...], list[DraftWarning]]:
    """A US company without automated sales tax: a taxable line (TAX, or no code and a rate
    of its own) pays the sales tax code's rate, on top of its price as US prices are; any
    other line is non-taxable (NON). With no code chosen among the company's a taxable line
    keeps its rate (see :func:`sales_tax_problems`); a company with no sales tax set up charges
    it nothing. A warning for each line whose own rate is not charged."""
    code = sales_tax_code(options, code_id)
    taxed: list[InvoiceLine] = []
    warnings: list[DraftWarning] = []
    for index, line in enumerate(lines):
        if line.is_discount:
            taxed.append(line)
            continue
        had_rate = line.tax_method is not TaxMethod.NONE and line.tax_rate != 0
        said = line.tax_code_ref if line.tax_code_ref in (US_TAXABLE, US_NON_TAXABLE) else None
        taxable = said == US_TAXABLE or (said is None and had_rate)
        if taxable and code is None and options.sales_tax_codes:
            taxed.append(dataclasses.replace(line, tax_code_ref=US_TAXABLE))
            continue
        name, rate = "Non-taxable", Decimal(0)
        parts: tuple[TaxPart, ...] = ()
        if taxable and code is not None:
            name, rate = code.name, code.rate_on(issue_date) or Decimal(0)
            parts = code.parts_on(issue_date)
        if had_rate and taxable and code is None:
            # No sales tax code to send (the company has none): there is no agency to owe the
            # tax to, and QuickBooks records none. [U] the reference does not say what it does
            # with a TotalTax and no TxnTaxCodeRef; the emulator records no tax, as we expect.
            warnings.append(
                DraftWarning.of(
                    MessageCode.NO_SALES_TAX_IN_QUICKBOOKS,
                    f"lines[{index}].tax_rate",
                    value=format(line.tax_rate.normalize(), "f"),
                )
            )
        elif had_rate and line.tax_rate != rate:
            warnings.append(
                DraftWarning.of(
                    MessageCode.TAX_RATE_DIFFERS_FROM_CODE,
                    f"lines[{index}].tax_rate",
                    code=name,
                    rate=format(rate.normalize(), "f"),
                    value=format(line.tax_rate.normalize(), "f"),
                )
            )
        if rate:
            warnings += _tax_on_top(line, index)
        taxed.append(
            dataclasses.replace(
                line,
                tax_rate=rate,
                tax_parts=parts,
                tax_method=TaxMethod.EXCLUSIVE if rate else TaxMethod.NONE,
                tax_code_ref=US_TAXABLE if taxable else US_NON_TAXABLE,
            )
        )
    return tuple(taxed), warnings


def sales_tax_problems(
    lines: Sequence[InvoiceLine], options: InvoiceOptions | None, code_id: str | None
) -> list[DraftWarning]:
    """What QuickBooks would not tax as the preview does: an unknown sales tax code, or
    taxable lines and no code (QuickBooks would charge them nothing)."""
    if options is None:
        return []
    if code_id and sales_tax_code(options, code_id) is None:
        return [
            DraftWarning.of(MessageCode.UNKNOWN_SALES_TAX_CODE, "sales_tax_code_id", value=code_id)
        ]
    taxable = any(line.tax_code_ref == US_TAXABLE for line in lines)
    if options.sales_tax_codes and not code_id and taxable:
        return [DraftWarning(MessageCode.SALES_TAX_CODE_REQUIRED, "sales_tax_code_id")]
    return []


def dropped_by_quickbooks(
    lines: Sequence[InvoiceLine], options: InvoiceOptions | None
) -> list[DraftWarning]:
    """The discount lines QuickBooks would leave out: the company has discounts turned off
    (SalesFormsPrefs.AllowDiscount). [O] QuickBooks then drops a DiscountLineDetail without a
    word (integrators' reports; the reference only lists the preference), and would record
    more than the preview shows."""
    if options is None or options.preferences.discounts_allowed:
        return []
    return [
        DraftWarning(MessageCode.DISCOUNTS_OFF_IN_QUICKBOOKS, f"lines[{index}]")
        for index, line in enumerate(lines)
        if line.is_discount
    ]


def inactive_tax_codes(
    lines: Sequence[InvoiceLine], options: InvoiceOptions | None
) -> list[DraftWarning]:
    """Lines whose tax code QuickBooks does not have active (made inactive since it became the
    default, or unknown): the form cannot show it, and QuickBooks would refuse the invoice
    (610) after it was stored. US line codes are QuickBooks' TAX / NON, always there."""
    if options is None or options.preferences.is_us_company:
        return []
    active = {code.id for code in options.tax_codes if code.active}
    return [
        DraftWarning.of(
            MessageCode.UNKNOWN_TAX_CODE, f"lines[{index}].tax_code_id", value=line.tax_code_ref
        )
        for index, line in enumerate(lines)
        if not line.is_discount and line.tax_code_ref and line.tax_code_ref not in active
    ]


# A deal's invoices read to say what is already invoiced on it (far more than any deal has).
DEAL_INVOICES_MAX = 500
_NOT_INVOICED = (InvoiceState.VOIDED, InvoiceState.DELETED, InvoiceState.CREATE_FAILED)


def before_tax(totals: InvoiceTotals) -> Money:
    """An invoice's amount without any tax, the part a deal's value surely counts.

    [U] Whether Pipedrive's deal value (the sum of its products' ``sum``) includes the tax of
    ``exclusive`` products is not documented; comparing amounts before tax never says a deal
    is over-invoiced when it is not, whichever it is."""
    return totals.total - totals.tax


def is_invoiced(invoice: Invoice) -> bool:
    """Whether the invoice counts as invoicing its deal: voided, deleted and refused do not."""
    return invoice.state not in _NOT_INVOICED


def invoiced_on_deal(invoices: Sequence[Invoice], currency: str) -> Money:
    """What a deal's invoices in ``currency`` ask for before tax, voided, deleted and refused
    ones aside (QuickBooks' figures where known). Other currencies are not added up."""
    return Money.sum_of(
        (
            before_tax(invoice.totals())
            for invoice in invoices
            if invoice.currency == currency and is_invoiced(invoice)
        ),
        currency,
    )
