"""The accounting port: what dealbooks needs from QuickBooks Online, in domain terms.

Every method takes the Pipedrive ``company_id``; the adapter finds the company's QuickBooks
connection (realm, tokens) through the ``TokenStore``. Errors are application errors:
``IntegrationNotConnectedError`` (no connection or it needs a reconnect),
``UpstreamRejectedError`` (QuickBooks refused: plain-language message, QuickBooks code in
metadata), ``UpstreamUnavailableError`` (network, 5xx, throttling after retries),
``NotFoundError`` (the object does not exist in QuickBooks).
Every write carries ``request_id``: the same id never writes twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final, Protocol

from application.errors import UpstreamRejectedError
from domain.connection import OAuthTokens
from domain.customer import Customer
from domain.invoice import Invoice
from domain.invoice_line import TaxPart
from domain.invoice_template import InvoiceExtras
from domain.money import Money
from domain.payment_term import PaymentTerm


@dataclass(frozen=True, slots=True)
class AccountingCustomer:
    """A QuickBooks customer as the invoice form shows it."""

    id: str
    customer: Customer  # display name, email, billing address, tax id, quickbooks_id=id
    sync_token: str = "0"
    currency: str | None = None
    active: bool = True
    terms_id: str | None = None  # the customer's own term in QuickBooks (SalesTermRef)


@dataclass(frozen=True, slots=True)
class AccountingInvoice:
    """The facts QuickBooks holds about one invoice."""

    id: str
    doc_number: str | None
    sync_token: str
    currency: str
    total: Money
    balance: Money
    due_date: date | None
    txn_date: date | None
    customer_id: str
    voided: bool
    email_status: str  # "NotSet" | "NeedToSend" | "EmailSent"
    last_updated: datetime
    bill_email: str | None = None
    terms_id: str | None = None  # SalesTermRef, as QuickBooks recorded it
    terms_name: str | None = None
    tax: Money | None = None  # TxnTaxDetail.TotalTax
    # InvoiceLink: the customer's "review and pay" page, where the company takes online
    # payments and the invoice allows them (an answer to a request asking for it).
    payment_link: str | None = None
    # ClassRef (else the sales lines' classes, once each, comma-separated) and DepartmentRef,
    # by the full names QuickBooks gives them.
    class_name: str | None = None
    location_name: str | None = None
    # Which of "terms", "class" and "location" QuickBooks answered by id alone, with no name
    # to show them by: unknown in these facts, rather than absent.
    unnamed: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class NamedRef:
    id: str
    name: str
    active: bool = True


#: Items an invoice line cannot name: a category only files products, and a bundle (Group)
#: goes on an invoice as a GroupLineDetail of its parts, which dealbooks does not send. [U]
#: What QuickBooks answers to either as a line's item is not in the reference.
UNSOLD_ITEM_TYPES: Final = frozenset({"Category", "Group"})

# A US company's line tax codes (QuickBooks' pseudo codes; reference §3.3).
US_TAXABLE: Final = "TAX"
US_NON_TAXABLE: Final = "NON"


@dataclass(frozen=True, slots=True)
class RatePeriod:
    """A tax code's rate from ``start`` to ``end`` (inclusive; None: open-ended)."""

    start: date | None
    end: date | None
    percent: Decimal

    def covers(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


def _in_force(periods: Sequence[RatePeriod], day: date | None) -> Decimal | None:
    """The percent of the period covering ``day``, if one does."""
    return next((p.percent for p in periods if day is not None and p.covers(day)), None)


@dataclass(frozen=True, slots=True)
class TaxRateOption:
    """One of a tax code's rates (a QuickBooks TaxRate): its RateValue, and its history when
    it changed (TaxRate.EffectiveTaxRate)."""

    id: str
    percent: Decimal
    periods: tuple[RatePeriod, ...] = ()

    def on(self, day: date | None) -> Decimal:
        """The rate in force on ``day`` (None, or a day its history does not cover: its
        RateValue)."""
        in_force = _in_force(self.periods, day)
        return self.percent if in_force is None else in_force


@dataclass(frozen=True, slots=True)
class TaxCodeOption(NamedRef):
    rate_percent: Decimal | None = None  # e.g. Decimal("20"); None when QuickBooks computes it
    # The code's rate over time, when one of its rates changed (TaxRate.EffectiveTaxRate):
    # QuickBooks charges the rate in force on the invoice date. Shown on the form.
    periods: tuple[RatePeriod, ...] = ()
    # The code's rates (a US group's state and county rates), which QuickBooks rounds one by
    # one; none known: the code's rate is one.
    rates: tuple[TaxRateOption, ...] = ()

    def rate_on(self, day: date | None) -> Decimal | None:
        """The rate QuickBooks charges on an invoice dated ``day`` (None: today's)."""
        if self.rates:
            return sum((rate.on(day) for rate in self.rates), Decimal(0))
        in_force = _in_force(self.periods, day)
        return self.rate_percent if in_force is None else in_force

    def parts_on(self, day: date | None) -> tuple[TaxPart, ...]:
        """The rates :meth:`rate_on` adds up, each of which QuickBooks taxes and rounds on its
        own (the zero ones left out)."""
        if self.rates:
            parts = [TaxPart(rate.id, rate.on(day)) for rate in self.rates]
        else:
            parts = [TaxPart(f"code {self.id}", self.rate_on(day) or Decimal(0))]
        return tuple(part for part in parts if part.percent)


@dataclass(frozen=True, slots=True)
class ItemOption(NamedRef):
    description: str = ""
    unit_price: str = ""  # decimal string as QuickBooks stores it
    type: str = "Service"

    @property
    def sold(self) -> bool:
        """Whether an invoice line can name it (SalesItemLineDetail.ItemRef)."""
        return self.type not in UNSOLD_ITEM_TYPES


class ClassTracking(StrEnum):
    """Where a company assigns QuickBooks classes (Preferences.AccountingInfoPrefs)."""

    NONE = "none"
    PER_INVOICE = "invoice"  # ClassTrackingPerTxn: the invoice's ClassRef
    PER_LINE = "line"  # ClassTrackingPerTxnLine: each sales line's ClassRef


@dataclass(frozen=True, slots=True)
class CompanyPreferences:
    home_currency: str
    multicurrency_enabled: bool
    enabled_currencies: tuple[str, ...]
    is_us_company: bool  # US: lines Taxable/Non-taxable (TAX/NON) vs a tax code per line
    custom_transaction_numbers: bool
    company_name: str
    country: str = ""
    time_zone: str = "UTC"
    default_terms_id: str | None = None  # SalesFormsPrefs.DefaultTerms
    # US automated sales tax (TaxPrefs.PartnerTaxEnabled): QuickBooks computes the tax from the
    # ship-to address, so no figure of ours is the tax until QuickBooks has answered.
    automated_sales_tax: bool = False
    # SalesFormsPrefs.AllowDiscount / AllowDeposit: the discount line and the deposit a
    # company's sales forms take (turned off, QuickBooks leaves out or refuses them).
    discounts_allowed: bool = True
    deposits_allowed: bool = True
    # Preferences.AccountingInfoPrefs: classes (ClassRef) and locations (TrackDepartments:
    # an invoice's DepartmentRef), which a company's reports break sales down by.
    class_tracking: ClassTracking = ClassTracking.NONE
    location_tracking: bool = False


@dataclass(frozen=True, slots=True)
class InvoiceOptions:
    """What the invoice form offers: read once and cached briefly by the adapter."""

    preferences: CompanyPreferences
    tax_codes: tuple[TaxCodeOption, ...]
    terms: tuple[PaymentTerm, ...]
    items: tuple[ItemOption, ...]
    # A US company without automated sales tax: the sales tax codes (a rate, or a group of
    # rates) one of which QuickBooks applies to the invoice's taxable lines (TxnTaxCodeRef).
    sales_tax_codes: tuple[TaxCodeOption, ...] = ()
    # The sales custom fields the company turned on (Preferences.SalesFormsPrefs.CustomField):
    # id = DefinitionId ("1"-"3"), name = the field's name, such as "PO Number".
    custom_fields: tuple[NamedRef, ...] = ()
    # The classes and locations (QuickBooks' Class and Department), read only when the company
    # tracks them; ``name`` is the full name ("Services:Consulting").
    classes: tuple[NamedRef, ...] = ()
    locations: tuple[NamedRef, ...] = ()

    @property
    def class_choices(self) -> tuple[NamedRef, ...] | None:
        """The classes an invoice may name; None: the company does not track classes."""
        tracked = self.preferences.class_tracking is not ClassTracking.NONE
        return self.classes if tracked else None

    @property
    def location_choices(self) -> tuple[NamedRef, ...] | None:
        """The locations an invoice may name; None: the company does not track locations."""
        return self.locations if self.preferences.location_tracking else None


@dataclass(frozen=True, slots=True)
class AccountingChanges:
    """Invoices and payments changed since a time (CDC). Deleted invoices are listed by id.

    ``as_of``: until when the changes are complete, where the next read starts (short of now
    when QuickBooks could not answer them all). ``all_deletions_listed`` is False when the
    invoices deleted in the window could not all be listed (QuickBooks lists them after the
    changed ones, past its cap): the caller finds those it holds by reading them."""

    invoices: tuple[AccountingInvoice, ...]
    deleted_invoice_ids: tuple[str, ...]
    payment_invoice_ids: tuple[str, ...]  # invoices touched by the payments that changed
    as_of: datetime
    extra: dict[str, str] = field(default_factory=dict)
    all_deletions_listed: bool = True


@dataclass(frozen=True, slots=True)
class InvoiceToCreate:
    """One invoice of a batch create: linked to its QuickBooks customer, as ``create_invoice``
    takes it."""

    invoice: Invoice
    exchange_rate: Decimal | None = None
    extras: InvoiceExtras | None = None


#: What one item of a batch create came to: the invoice QuickBooks made, or why it refused it.
BatchCreated = AccountingInvoice | UpstreamRejectedError

#: At most this many invoices in one batch create (QuickBooks' batch limit, reference §4.8).
MAX_BATCH_CREATE: Final = 30


class AccountingGateway(Protocol):
    async def search_customers(
        self, company_id: str, text: str, *, limit: int = 20
    ) -> list[AccountingCustomer]:
        """Customers whose display name contains ``text`` or whose email equals it."""
        ...

    async def get_customer(self, company_id: str, customer_id: str) -> AccountingCustomer: ...

    async def create_customer(
        self, company_id: str, customer: Customer, *, request_id: str, currency: str | None = None
    ) -> AccountingCustomer:
        """Create; a DisplayName taken by another customer gets a distinct name, never a silent
        duplicate of somebody else (the caller links an existing customer on purpose). In a
        multicurrency company the customer is in ``currency`` (write-once in QuickBooks), so
        that invoices in that currency can be made out to it."""
        ...

    async def update_customer_details(
        self, company_id: str, customer_id: str, details: Customer, fields: frozenset[str]
    ) -> AccountingCustomer:
        """Sparse update of ``fields`` among {"display_name", "email", "billing_address",
        "tax_id"}; a name another customer, vendor or employee has is refused (6240)."""
        ...

    async def invoice_options(self, company_id: str) -> InvoiceOptions: ...

    async def reads_rationed(self) -> bool:
        """Whether this month's metered reads (Intuit's CorePlus quota, counted for every
        company of the deployment) are low enough that optional reads are to be skipped."""
        ...

    async def time_zone(self, company_id: str) -> str:
        """The company's time zone (its today dates invoices and says what is overdue): kept
        from the connect, so no metered read; read with the options for a connection that
        predates that."""
        ...

    async def exchange_rate(self, company_id: str, currency: str, as_of: date) -> Decimal:
        """Home-currency units per unit of ``currency`` on ``as_of``: the rate QuickBooks uses
        for an invoice that does not set one (a metered read)."""
        ...

    async def create_invoices(
        self, company_id: str, invoices: Sequence[InvoiceToCreate | None], *, request_id: str
    ) -> list[BatchCreated | None]:
        """Up to ``MAX_BATCH_CREATE`` invoices in one call, their outcomes in the same order
        (None stays None: a place left empty keeps the others where they were).
        ``request_id`` (≤ 36 characters) makes the call exactly once: the same id with the
        same invoices in the same order answers what the first call did. A failure of the
        whole call raises as ``create_invoice`` does (and created nothing, or, for a lost
        answer, what a repeat with the same id will report)."""
        ...

    async def create_invoice(
        self,
        company_id: str,
        invoice: Invoice,
        *,
        request_id: str,
        exchange_rate: Decimal | None = None,
        extras: InvoiceExtras | None = None,
        options: InvoiceOptions | None = None,
    ) -> AccountingInvoice:
        """``invoice.customer.quickbooks_id`` must be set; lines carry item and tax code refs.
        ``exchange_rate`` overrides QuickBooks' own rate (foreign-currency invoices only).
        ``extras``: the private note, the custom fields the company defines (others are left
        out), CC/BCC and the online payment options. ``options``: what ``invoice_options``
        answered when the invoice was built (None: read now)."""
        ...

    async def get_invoice(self, company_id: str, invoice_id: str) -> AccountingInvoice | None:
        """None when QuickBooks no longer has it (deleted)."""
        ...

    async def get_invoices(
        self, company_id: str, invoice_ids: Sequence[str]
    ) -> dict[str, AccountingInvoice]:
        """Many at once (query ``Id IN (...)`` in chunks); ids missing from the answer are gone."""
        ...

    async def void_invoice(
        self, company_id: str, invoice_id: str, *, request_id: str
    ) -> AccountingInvoice: ...

    async def delete_invoice(
        self, company_id: str, invoice_id: str, *, request_id: str
    ) -> None: ...

    async def send_invoice(
        self, company_id: str, invoice_id: str, *, to: str | None, request_id: str
    ) -> AccountingInvoice: ...

    async def invoice_pdf(self, company_id: str, invoice_id: str) -> bytes: ...

    async def invoice_link(self, company_id: str, invoice_id: str) -> str:
        """The "Open in QuickBooks" deep link (sandbox or production)."""
        ...

    async def changes_since(self, company_id: str, since: datetime) -> AccountingChanges:
        """Every invoice and payment change since ``since``, however many (up to a bound of
        reads, past which ``as_of`` says how far they go)."""
        ...

    async def check_connection(self, company_id: str) -> None:
        """One small authenticated read that proves the stored connection still works. A refused
        access token is refreshed once, as for any call; a refused refresh token (the company
        disconnected dealbooks inside QuickBooks) marks the connection "needs reconnect" and
        raises ``IntegrationNotConnectedError``."""
        ...


@dataclass(frozen=True, slots=True)
class AccountingCompany:
    realm_id: str
    name: str
    environment: str  # "sandbox" | "production"
    time_zone: str = ""  # CompanyInfo.DefaultTimeZone, read with the name at connect


class AccountingAuthorizer(Protocol):
    """QuickBooks OAuth 2.0: the consent URL, code exchange, revoke."""

    def authorization_url(self, state: str) -> str: ...

    async def exchange_code(
        self, code: str, realm_id: str
    ) -> tuple[OAuthTokens, AccountingCompany]: ...

    async def revoke(self, refresh_token: str) -> None: ...
