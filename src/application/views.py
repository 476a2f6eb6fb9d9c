"""Views: what use cases return to entrypoints. Immutable; built from the read side's rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Generic, TypeVar

from application.ports.accounting import AccountingCustomer
from domain.customer import Customer
from domain.field_mapping import SourceEntity
from domain.installment import DealShare
from domain.invoice import Invoice, InvoiceState, InvoiceStatus, status_of
from domain.invoice_line import InvoiceLine, InvoiceTotals
from domain.invoice_template import CustomFieldValue, InvoiceTemplate
from domain.messages import MessageCode, as_params, english
from domain.money import Money
from domain.settings import CompanySettings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SettingsView:
    settings: CompanySettings
    etag: str
    is_default: bool


def settings_etag(settings: CompanySettings) -> str:
    return f'"v{settings.version}"'


@dataclass(frozen=True, slots=True)
class LineView:
    line: InvoiceLine
    amount: Money  # the line's total in the invoice's currency


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """An invoice as the read side stores it (the columns kept with every write: totals,
    balance, link), with its status on the company's today."""

    company_id: str
    deal_id: str
    id: str
    state: InvoiceState
    status: InvoiceStatus
    doc_number: str | None
    customer: Customer
    lines: tuple[LineView, ...]
    currency: str
    issue_date: date
    due_date: date | None
    memo: str
    totals: InvoiceTotals
    quickbooks_id: str | None
    quickbooks_url: str | None
    payment_link: str | None  # only while there is something to pay (see payable_link)
    quickbooks_total: Money | None
    failure_reason: str | None
    failure_code: str | None
    failure_params: Mapping[str, str]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    last_synced_at: datetime | None
    last_sent_at: datetime | None
    terms_id: str | None
    terms_name: str | None
    class_name: str | None
    location_name: str | None
    tax_by_quickbooks: bool
    sales_tax_code_id: str | None
    # Made in another QuickBooks company than the connected one (see ``Invoice``): shown as
    # last seen, with no link into QuickBooks and no action there.
    other_quickbooks_company: bool = False

    @property
    def totals_mismatch(self) -> bool:
        return self.quickbooks_total is not None and self.quickbooks_total != self.totals.total

    @classmethod
    def of(cls, invoice: Invoice, today: date) -> InvoiceView:
        """The view of an invoice held in memory (the in-memory read side builds them so)."""
        totals = invoice.totals()
        currency = invoice.currency
        return cls(
            company_id=invoice.company_id,
            deal_id=invoice.deal_id,
            id=invoice.id,
            state=invoice.state,
            doc_number=invoice.doc_number,
            customer=invoice.customer,
            lines=tuple(LineView(line, line.total(currency)) for line in invoice.lines),
            currency=currency,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            memo=invoice.memo,
            totals=totals,
            quickbooks_id=invoice.quickbooks_id,
            quickbooks_total=invoice.quickbooks_total,
            failure_reason=invoice.failure_reason,
            failure_code=invoice.failure_code,
            failure_params=dict(invoice.failure_params),
            created_by=invoice.created_by,
            created_at=invoice.created_at,
            updated_at=invoice.updated_at,
            last_synced_at=invoice.last_synced_at,
            last_sent_at=invoice.last_sent_at,
            terms_id=invoice.terms_id,
            terms_name=invoice.terms_name,
            class_name=invoice.class_name,
            location_name=invoice.location_name,
            tax_by_quickbooks=invoice.tax_by_quickbooks,
            sales_tax_code_id=invoice.sales_tax_code_id,
            other_quickbooks_company=invoice.other_quickbooks_company,
            **as_shown(
                invoice.state,
                invoice.due_date,
                totals.balance,
                today,
                invoice.quickbooks_url,
                invoice.payment_link,
                elsewhere=invoice.other_quickbooks_company,
            ),
        )


_PAYABLE: Final = frozenset({InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID})


def payable_link(state: InvoiceState, link: str | None) -> str | None:
    """The payment link, while the invoice has something to pay: a paid, voided or deleted
    invoice offers none (QuickBooks' page would only say there is nothing to pay)."""
    return link if link and state in _PAYABLE else None


def as_shown(
    state: InvoiceState,
    due_date: date | None,
    balance: Money,
    today: date,
    quickbooks_url: str | None,
    payment_link: str | None,
    *,
    elsewhere: bool,
) -> dict[str, Any]:
    """A view's status, QuickBooks link and payment link, whichever read side builds it. An
    invoice of another QuickBooks company (``elsewhere``) is as last seen, never overdue
    since, and has no link: its QuickBooks id names another invoice in the connected one."""
    return {
        "status": status_of(state, None if elsewhere else due_date, balance, today),
        "quickbooks_url": None if elsewhere or state is InvoiceState.DELETED else quickbooks_url,
        "payment_link": None if elsewhere else payable_link(state, payment_link),
    }


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


@dataclass(frozen=True, slots=True)
class DraftWarning:
    """What QuickBooks would object to in a draft: a code (CURRENCY_NOT_ENABLED, NO_EMAIL, ...)
    with its parameters, and the form field it is about."""

    code: MessageCode
    field: str = ""
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, code: MessageCode, field: str = "", /, **params: object) -> DraftWarning:
        return cls(code, field, as_params(params))

    @property
    def message(self) -> str:
        """The warning in English."""
        return english(self.code, self.params)


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """What the invoice form opens with."""

    company_id: str
    deal_id: str
    customer: Customer
    linked_customer: AccountingCustomer | None
    suggestions: tuple[AccountingCustomer, ...]
    currency: str
    issue_date: date
    due_date: date | None
    terms_id: str | None
    lines: tuple[InvoiceLine, ...]
    totals: InvoiceTotals
    warnings: tuple[DraftWarning, ...]
    # The due date each active term gives for ``issue_date``, and the company's due-date rule's
    # (None when the rule leaves it to the term): the form shows them side by side.
    terms_due_dates: Mapping[str, date] = field(default_factory=dict)
    rule_due_date: date | None = None
    copy_customer_details: bool = False  # the company's setting, the form's box default
    # A foreign-currency draft: QuickBooks' rate for the issue date (home-currency units per
    # unit of ``currency``) and the total in the home currency at that rate.
    exchange_rate: Decimal | None = None
    home_total: Money | None = None
    # The deal's contact whose QuickBooks link is (or would be) used: organization, else person.
    contact: tuple[SourceEntity, str] | None = None
    contact_linked: bool = False
    tax_by_quickbooks: bool = False  # US automated sales tax: QuickBooks will compute the tax
    sales_tax_code_id: str | None = None  # US without it: the code the taxable lines pay
    # The deal's value (when in the draft's currency) and what its invoices already ask for
    # before tax.
    deal_value: Money | None = None
    invoiced_on_deal: Money | None = None
    # The company's invoice templates, each with its custom fields' values for this deal, and
    # the one applied (the default; None: none), whose presets the draft holds.
    templates: tuple[DraftTemplate, ...] = ()
    template_id: str | None = None
    memo: str = ""
    private_note: str = ""
    custom_fields: tuple[CustomFieldValue, ...] = ()
    bill_email_cc: str = ""
    bill_email_bcc: str = ""
    allow_online_card: bool | None = None
    allow_online_ach: bool | None = None
    class_id: str | None = None  # the template's, when the company has it active
    location_id: str | None = None
    # A share of the deal (None: the whole deal): what it asks for and what the deal's lines
    # ask for, both before tax.
    share: DealShare | None = None
    share_amount: Money | None = None
    deal_amount: Money | None = None


@dataclass(frozen=True, slots=True)
class DraftTemplate:
    """A template as the form applies it to this deal: its custom fields' values read."""

    template: InvoiceTemplate
    custom_values: tuple[CustomFieldValue, ...]


@dataclass(frozen=True, slots=True)
class PdfView:
    filename: str
    content: bytes
