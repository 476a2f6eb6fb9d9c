"""An in-memory QuickBooks: the AccountingGateway fake for use-case tests and dev mode.

It keeps QuickBooks' observable rules that use cases rely on: requestid idempotency, unique
display names, server-side totals, voids zeroing amounts, deleted invoices gone.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from application.errors import (
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.accounting import (
    MAX_BATCH_CREATE,
    AccountingChanges,
    AccountingCustomer,
    AccountingInvoice,
    BatchCreated,
    CompanyPreferences,
    InvoiceOptions,
    InvoiceToCreate,
    ItemOption,
    NamedRef,
    TaxCodeOption,
)
from application.reasons import MetadataKey, Reason, ResourceType
from domain.customer import Customer
from domain.invoice import Invoice
from domain.invoice_template import InvoiceExtras
from domain.money import Money
from domain.payment_term import PaymentTerm

R = TypeVar("R", AccountingCustomer, AccountingInvoice)


def _changed(record: R, **changes: Any) -> R:
    """The record changed as QuickBooks changes one: with the next sync token."""
    return dataclasses.replace(record, sync_token=str(int(record.sync_token) + 1), **changes)


class InMemoryAccountingGateway:
    def __init__(self) -> None:
        self.preferences = CompanyPreferences(
            home_currency="USD",
            multicurrency_enabled=False,
            enabled_currencies=("USD",),
            is_us_company=True,
            custom_transaction_numbers=False,
            company_name="Fake Books Inc.",
            country="US",
        )
        self.connected: set[str] = set()
        self.online_payments = False  # the company takes online payments (QuickBooks Payments)
        self.rationed = False  # this month's metered reads are running low
        self.customers: dict[str, AccountingCustomer] = {}
        self.invoices: dict[str, AccountingInvoice] = {}
        self.deleted: set[str] = set()
        self.sent: list[tuple[str, str | None]] = []
        self.requests: dict[str, object] = {}
        self.calls: list[str] = []
        self.failures: dict[str, list[Exception]] = {}
        self.items = (ItemOption("1", "Services"), ItemOption("2", "Hours"))
        self.tax_codes = (TaxCodeOption("TAX", "Taxable"), TaxCodeOption("NON", "Non-taxable"))
        self.sales_tax_codes: tuple[TaxCodeOption, ...] = ()
        # With automated sales tax: the rate "the ship-to address" gets, on TAX lines.
        self.automated_tax_percent = Decimal("8.25")
        self.rates: dict[str, Decimal] = {"EUR": Decimal("1.0850"), "GBP": Decimal("1.2700")}
        self.sent_rates: dict[str, Decimal | None] = {}  # QuickBooks invoice id -> rate sent
        self.sent_extras: dict[str, InvoiceExtras | None] = {}  # QuickBooks invoice id -> extras
        self.custom_fields = (NamedRef("1", "PO Number"),)
        self.classes: tuple[NamedRef, ...] = ()  # tracked classes (QuickBooks' Class)
        self.locations: tuple[NamedRef, ...] = ()  # tracked locations (Department)
        self.terms = (
            PaymentTerm("3", "Net 30", due_days=30),
            PaymentTerm("2", "Net 15", due_days=15),
            PaymentTerm("6", "15th of the month", day_of_month_due=15, due_next_month_days=5),
        )
        self._ids = itertools.count(100)
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    # -- helpers for tests -------------------------------------------------------------------

    def connect(self, company_id: str) -> None:
        self.connected.add(company_id)

    def reset_books(self) -> None:
        """The company's books start again under the same realm (a sandbox reset): nothing
        in them, and ids numbered from the start again."""
        for kept in (self.customers, self.invoices, self.requests):
            kept.clear()
        self.deleted.clear()
        self._ids = itertools.count(100)

    def record_payment(self, invoice_id: str, amount: Money) -> None:
        invoice = self.invoices[invoice_id]
        self.invoices[invoice_id] = _changed(
            invoice, balance=invoice.balance - amount, last_updated=self.now
        )

    def _enter(self, company_id: str, operation: str) -> None:
        self.calls.append(operation)
        if company_id not in self.connected:
            raise IntegrationNotConnectedError(
                "QuickBooks is not connected for this company.",
                reason=Reason.QUICKBOOKS_NOT_CONNECTED,
            )
        for key in (operation, "*"):
            if self.failures.get(key):
                raise self.failures[key].pop(0)

    def _replay(self, request_id: str, operation: str) -> object | None:
        return self.requests.get(f"{operation}:{request_id}")

    # -- the port ----------------------------------------------------------------------------

    async def search_customers(
        self, company_id: str, text: str, *, limit: int = 20
    ) -> list[AccountingCustomer]:
        self._enter(company_id, "search_customers")
        needle = text.strip().lower()
        return [
            c
            for c in self.customers.values()
            if needle in c.customer.display_name.lower()
            or (c.customer.email or "").lower() == needle
        ][:limit]

    async def get_customer(self, company_id: str, customer_id: str) -> AccountingCustomer:
        self._enter(company_id, "get_customer")
        if customer_id not in self.customers:
            raise NotFoundError(ResourceType.QUICKBOOKS_CUSTOMER, customer_id)
        return self.customers[customer_id]

    async def create_customer(
        self, company_id: str, customer: Customer, *, request_id: str, currency: str | None = None
    ) -> AccountingCustomer:
        self._enter(company_id, "create_customer")
        replay = self._replay(request_id, "customer")
        if isinstance(replay, AccountingCustomer):
            return replay
        name = customer.display_name
        taken = {c.customer.display_name.lower() for c in self.customers.values()}
        suffix = 2
        while name.lower() in taken:
            name = f"{customer.display_name} ({suffix})"
            suffix += 1
        new_id = str(next(self._ids))
        multicurrency = self.preferences.multicurrency_enabled
        created = AccountingCustomer(
            id=new_id,
            customer=dataclasses.replace(customer, display_name=name, quickbooks_id=new_id),
            currency=(currency if multicurrency and currency else self.preferences.home_currency),
        )
        self.customers[new_id] = created
        self.requests[f"customer:{request_id}"] = created
        return created

    async def update_customer_details(
        self, company_id: str, customer_id: str, details: Customer, fields: frozenset[str]
    ) -> AccountingCustomer:
        self._enter(company_id, "update_customer")
        current = self.customers[customer_id]
        if "display_name" in fields and any(
            c.customer.display_name.casefold() == details.display_name.casefold()
            for c in self.customers.values()
            if c.id != customer_id
        ):
            raise UpstreamRejectedError(
                "QuickBooks already has a customer with this name.",
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "6240"},
            )
        changes = {f: getattr(details, f) for f in fields}
        updated = _changed(current, customer=dataclasses.replace(current.customer, **changes))
        self.customers[customer_id] = updated
        return updated

    async def exchange_rate(self, company_id: str, currency: str, as_of: date) -> Decimal:
        self._enter(company_id, "exchange_rate")
        return self.rates.get(currency, Decimal(1))

    async def reads_rationed(self) -> bool:
        return self.rationed

    async def time_zone(self, company_id: str) -> str:
        return (await self.invoice_options(company_id)).preferences.time_zone

    async def invoice_options(self, company_id: str) -> InvoiceOptions:
        self._enter(company_id, "invoice_options")
        return InvoiceOptions(
            self.preferences,
            self.tax_codes,
            self.terms,
            self.items,
            self.sales_tax_codes,
            custom_fields=self.custom_fields,
            classes=self.classes,
            locations=self.locations,
        )

    async def create_invoices(
        self, company_id: str, invoices: Sequence[InvoiceToCreate | None], *, request_id: str
    ) -> list[BatchCreated | None]:
        """As QuickBooks' batch: one call (throttled, failing or replayed as a whole), each
        item its own create; the same request id with the same items answers the same."""
        if not 0 < len(invoices) <= MAX_BATCH_CREATE:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_CREATE} invoices")
        self._enter(company_id, "create_invoices")
        key = request_id + "|" + ",".join(str(i) for i, w in enumerate(invoices) if w is not None)
        replay = self._replay(key, "batch")
        if isinstance(replay, list):
            return list(replay)
        outcomes: list[BatchCreated | None] = []
        for position, wanted in enumerate(invoices):
            if wanted is None:
                outcomes.append(None)
                continue
            try:
                outcomes.append(
                    await self.create_invoice(
                        company_id,
                        wanted.invoice,
                        request_id=f"{request_id}:{position}",
                        exchange_rate=wanted.exchange_rate,
                        extras=wanted.extras,
                    )
                )
            except UpstreamRejectedError as exc:
                outcomes.append(exc)
        self.requests[f"batch:{key}"] = list(outcomes)
        return outcomes

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
        self._enter(company_id, "create_invoice")
        replay = self._replay(request_id, "invoice")
        if isinstance(replay, AccountingInvoice):
            return replay
        if invoice.customer.quickbooks_id not in self.customers:
            raise UpstreamRejectedError(
                "QuickBooks does not know this customer.",
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "2500"},
            )
        if invoice.currency not in self.preferences.enabled_currencies:
            raise UpstreamRejectedError(
                f"QuickBooks does not accept {invoice.currency} for this company.",
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "6000"},
            )
        customer_currency = self.customers[invoice.customer.quickbooks_id].currency
        if invoice.currency != (customer_currency or self.preferences.home_currency):
            raise UpstreamRejectedError(
                "QuickBooks needs the invoice in the customer's currency.",
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "6000"},
            )
        # As QuickBooks: the invoice's term, else the customer's, else the company default;
        # DueDate from the term only when none is given.
        customer = self.customers[invoice.customer.quickbooks_id]
        wanted = invoice.terms_id or customer.terms_id or self.preferences.default_terms_id
        term = next((t for t in self.terms if t.id == wanted), None)
        if wanted and term is None:
            raise UpstreamRejectedError(
                "QuickBooks does not know this term.",
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "2500"},
            )
        due = invoice.due_date or (term.due_date(invoice.issue_date) if term else None)
        new_id = str(next(self._ids))
        total = invoice.total()
        tax = invoice.totals().tax
        if invoice.tax_by_quickbooks and self.preferences.automated_sales_tax:
            taxable = sum(
                (
                    line.net(invoice.currency).amount
                    for line in invoice.lines
                    if line.tax_code_ref == "TAX"
                ),
                Decimal(0),
            )
            tax = Money(taxable * self.automated_tax_percent / 100, invoice.currency).rounded()
            total += tax
        deposit = Money((extras.deposit if extras else None) or Decimal(0), total.currency)
        created = AccountingInvoice(
            id=new_id,
            doc_number=str(1000 + len(self.invoices) + 1),
            sync_token="0",
            currency=invoice.currency,
            total=total,
            balance=total - deposit,  # as QuickBooks: Balance = TotalAmt - Deposit
            due_date=due or invoice.issue_date,
            txn_date=invoice.issue_date,
            customer_id=invoice.customer.quickbooks_id or "",
            voided=False,
            email_status="NotSet",
            last_updated=self.now,
            bill_email=invoice.customer.email,
            terms_id=term.id if term else None,
            terms_name=term.name if term else None,
            tax=tax,
            payment_link=self._payment_link(new_id, invoice, extras),
            class_name=_named(self.classes, extras.class_id if extras else None),
            location_name=_named(self.locations, extras.location_id if extras else None),
        )
        self.invoices[new_id] = created
        self.sent_rates[new_id] = exchange_rate
        self.sent_extras[new_id] = extras
        self.requests[f"invoice:{request_id}"] = created
        return created

    def _payment_link(
        self, invoice_id: str, invoice: Invoice, extras: InvoiceExtras | None
    ) -> str | None:
        """As QuickBooks: a link where the company takes online payments, the invoice allows
        one way to pay online (unset: the company's setting) and has an email."""
        card = extras.allow_online_card if extras else None
        ach = extras.allow_online_ach if extras else None
        allowed = any(self.online_payments if o is None else o for o in (card, ach))
        if not (self.online_payments and allowed and invoice.customer.email):
            return None
        return f"https://pay.example/invoice/{invoice_id}"

    async def get_invoice(self, company_id: str, invoice_id: str) -> AccountingInvoice | None:
        self._enter(company_id, "get_invoice")
        return self.invoices.get(invoice_id)

    async def get_invoices(
        self, company_id: str, invoice_ids: Sequence[str]
    ) -> dict[str, AccountingInvoice]:
        self._enter(company_id, "get_invoices")
        return {i: self.invoices[i] for i in invoice_ids if i in self.invoices}

    def _existing(self, invoice_id: str) -> AccountingInvoice:
        if invoice_id not in self.invoices:
            raise NotFoundError(ResourceType.QUICKBOOKS_INVOICE, invoice_id)
        return self.invoices[invoice_id]

    async def void_invoice(
        self, company_id: str, invoice_id: str, *, request_id: str
    ) -> AccountingInvoice:
        self._enter(company_id, "void_invoice")
        current = self._existing(invoice_id)
        zero = Money.zero(current.currency)
        voided = _changed(current, voided=True, total=zero, balance=zero, last_updated=self.now)
        self.invoices[invoice_id] = voided
        return voided

    async def delete_invoice(self, company_id: str, invoice_id: str, *, request_id: str) -> None:
        self._enter(company_id, "delete_invoice")
        if invoice_id in self.deleted:
            return
        self._existing(invoice_id)
        del self.invoices[invoice_id]
        self.deleted.add(invoice_id)

    async def send_invoice(
        self, company_id: str, invoice_id: str, *, to: str | None, request_id: str
    ) -> AccountingInvoice:
        self._enter(company_id, "send_invoice")
        current = self._existing(invoice_id)
        recipient = to or current.bill_email
        if not recipient:
            raise UpstreamRejectedError(
                "QuickBooks needs an email address to send the invoice to.",
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "6530"},
            )
        self.sent.append((invoice_id, recipient))
        sent = _changed(current, email_status="EmailSent", bill_email=recipient)
        self.invoices[invoice_id] = sent
        return sent

    async def invoice_pdf(self, company_id: str, invoice_id: str) -> bytes:
        self._enter(company_id, "invoice_pdf")
        invoice = self._existing(invoice_id)
        return b"%PDF-1.4\n% fake invoice " + (invoice.doc_number or "").encode() + b"\n%%EOF\n"

    async def invoice_link(self, company_id: str, invoice_id: str) -> str:
        return f"https://app.sandbox.qbo.intuit.com/app/invoice?txnId={invoice_id}"

    async def check_connection(self, company_id: str) -> None:
        self._enter(company_id, "check_connection")

    async def changes_since(self, company_id: str, since: datetime) -> AccountingChanges:
        self._enter(company_id, "changes_since")
        return AccountingChanges(
            invoices=tuple(i for i in self.invoices.values() if i.last_updated >= since),
            deleted_invoice_ids=tuple(sorted(self.deleted)),
            payment_invoice_ids=(),
            as_of=self.now,
        )

    def fail_on(self, operation: str, error: Exception, times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` ("*": any) raise ``error``."""
        self.failures.setdefault(operation, []).extend([error] * times)

    def unavailable(self, operation: str = "*", times: int = 1) -> None:
        """Make the next ``times`` calls fail as QuickBooks outages do."""
        self.fail_on(
            operation,
            UpstreamUnavailableError(
                "QuickBooks is unavailable.", reason=Reason.QUICKBOOKS_UNAVAILABLE
            ),
            times,
        )


def _named(refs: tuple[NamedRef, ...], ref_id: str | None) -> str | None:
    """As QuickBooks answers a ClassRef or DepartmentRef: with the entity's name."""
    return next((ref.name for ref in refs if ref.id == ref_id), None)
