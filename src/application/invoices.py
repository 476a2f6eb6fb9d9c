"""Invoicing from a deal: prepare, create (exactly once), read, void, delete, send, PDF, refresh.

Vendor calls never happen inside an open database transaction: each use case reads in one unit
of work, talks to QuickBooks, then writes the outcome in another (re-reading what it changes).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import hashlib
import json
import re
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from application.commands import (
    AddressInput,
    CreateInvoiceCommand,
    DealRef,
    InvoiceActionCommand,
    InvoiceInput,
    InvoiceRef,
    LineInput,
    ListPageCommand,
    SendInvoiceCommand,
)
from application.errors import (
    ApplicationError,
    ConcurrencyConflictError,
    IntegrationNotConnectedError,
    NotFoundError,
    RequestIdReusedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.intake import UnitOfWorkIntake
from application.ports.accounting import (
    AccountingCustomer,
    AccountingGateway,
    AccountingInvoice,
    InvoiceOptions,
    ItemOption,
)
from application.ports.clock import Clock
from application.ports.crm import CrmGateway, Deal, DealParties
from application.ports.jobs import JobQueue
from application.ports.persistence import (
    CreationOptions,
    CustomerLink,
    DealFollowUp,
    FollowUpState,
    IdempotencyRecord,
    InvoiceIntake,
    InvoiceQueries,
    PageCursor,
    RecordedEvent,
    UnitOfWork,
    UnitOfWorkFactory,
)
from application.views import DraftWarning, InvoiceDraft, InvoiceView, Page, PdfView
from domain.customer import Address, Customer
from domain.errors import (
    DomainError,
    FieldViolation,
    InvalidStateTransitionError,
    InvalidValueError,
)
from domain.field_mapping import MappingIssueKind, SourceEntity
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import (
    DiscountKind,
    Invoice,
    InvoiceLine,
    InvoiceState,
    build_lines,
    totals_of,
)
from domain.money import Money, is_known_currency
from domain.settings import CompanySettings

log = structlog.get_logger("dealbooks.invoices")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
QUICKBOOKS_ACTOR = "quickbooks"


# -- shared helpers ----------------------------------------------------------------------------


def company_today(now: datetime, time_zone: str | None) -> date:
    """Today's date where the company is (QuickBooks' company time zone), else UTC."""
    try:
        zone = ZoneInfo(time_zone) if time_zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return now.astimezone(zone).date()


def validate_request_id(request_id: str) -> str:
    if request_id and not _REQUEST_ID.match(request_id):
        raise InvalidValueError(
            "request_id",
            "Use 1 to 64 letters, digits, '.', '_', ':' or '-' (a UUID is best).",
        )
    return request_id


def page_size_of(requested: int) -> int:
    if requested < 0:
        raise InvalidValueError("page_size", "Must be 0 (the default, 20) or more.")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(parent: str, position: dict[str, Any]) -> str:
    raw = json.dumps({"p": parent, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(parent: str, token: str) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("p") != parent:
        raise InvalidValueError(
            "page_token", "This page token is not valid here; start again without one."
        )
    return data


def deal_parent(ref: DealRef) -> str:
    return f"companies/{ref.company_id}/deals/{ref.deal_id}"


_REMEMBERED_LINKS = 4096


class InvoiceReader:
    """Loads invoices the caller may see and turns them into views."""

    def __init__(self, accounting: AccountingGateway, clock: Clock) -> None:
        self._accounting = accounting
        self._clock = clock
        # An invoice's QuickBooks link never changes (its company and QuickBooks id make it):
        # remembered, a page of 20 views needs no call to the gateway.
        self._links: OrderedDict[tuple[str, str], str] = OrderedDict()

    async def today(self, company_id: str) -> date:
        try:
            options = await self._accounting.invoice_options(company_id)
            zone = options.preferences.time_zone
        except (IntegrationNotConnectedError, UpstreamUnavailableError, UpstreamRejectedError):
            zone = None  # status labels still work; the calendar falls back to UTC
        return company_today(self._clock.now(), zone)

    async def view(self, invoice: Invoice, today: date) -> InvoiceView:
        return (await self.views([invoice], today))[0]

    async def views(self, invoices: Sequence[Invoice], today: date) -> list[InvoiceView]:
        links = self._links
        views = []
        for invoice in invoices:
            url = None
            if invoice.quickbooks_id and invoice.state is not InvoiceState.DELETED:
                key = (invoice.company_id, invoice.quickbooks_id)
                url = links.get(key)
                if url is None:
                    url = links[key] = await self._accounting.invoice_link(*key)
                    if len(links) > _REMEMBERED_LINKS:
                        links.popitem(last=False)
            views.append(
                InvoiceView(invoice=invoice, status=invoice.status(today), quickbooks_url=url)
            )
        return views


async def load_invoice(uow: UnitOfWork, ref: InvoiceRef, *, for_update: bool = False) -> Invoice:
    ref.principal.ensure_can_access(ref.company_id)
    if for_update:
        invoice = await uow.invoices.get_for_update(ref.company_id, ref.invoice_id)
    else:
        invoice = await uow.invoices.get(ref.company_id, ref.invoice_id)
    if invoice is None or invoice.deal_id != ref.deal_id:
        raise NotFoundError(
            "invoice",
            f"companies/{ref.company_id}/deals/{ref.deal_id}/invoices/{ref.invoice_id}",
        )
    return invoice


async def settings_of(uow: UnitOfWork, company_id: str) -> CompanySettings:
    return await uow.settings.get(company_id) or CompanySettings.default(company_id)


# -- preparing the form ------------------------------------------------------------------------


def match_item(name: str, items: Sequence[ItemOption]) -> ItemOption | None:
    wanted = name.strip().lower()
    for item in items:
        if item.active and item.name.strip().lower() == wanted:
            return item
    return None


def deal_lines(
    deal: Deal, options: InvoiceOptions, settings: CompanySettings, currency: str
) -> tuple[tuple[InvoiceLine, ...], list[DraftWarning]]:
    """Invoice lines from the deal's products and deal-level discounts."""
    warnings: list[DraftWarning] = []
    lines: list[InvoiceLine] = []
    for index, product in enumerate(deal.products):
        item = match_item(product.name, options.items)
        item_ref = item.id if item else settings.default_item
        if item_ref is None:
            warnings.append(
                DraftWarning(
                    "NO_MATCHING_ITEM",
                    f"No QuickBooks item is named '{product.name}' and no default item is set; "
                    "choose an item for this line.",
                    f"lines[{index}].item_id",
                )
            )
        lines.append(
            InvoiceLine(
                name=product.name,
                description=product.comments,
                quantity=product.quantity,
                unit_price=product.unit_price,
                discount=product.discount,
                discount_kind=product.discount_kind,
                tax_rate=product.tax_rate,
                tax_method=product.tax_method,
                item_ref=item_ref,
                tax_code_ref=settings.default_tax_code,
            )
        )
    items_total = Money.sum_of((line.total(currency) for line in lines), currency)
    for discount in deal.discounts:
        amount = discount.amount
        if discount.kind is DiscountKind.PERCENTAGE:
            amount = (items_total.amount * discount.amount / Decimal(100)).quantize(
                Decimal(1).scaleb(-Money.zero(currency).minor_units)
            )
        if amount > 0:
            lines.append(InvoiceLine.discount_line(discount.description or "Discount", amount))
    return tuple(lines), warnings


class PrepareInvoice:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        accounting: AccountingGateway,
        crm: CrmGateway,
        clock: Clock,
    ) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting
        self._crm = crm
        self._clock = clock

    async def execute(self, ref: DealRef) -> InvoiceDraft:
        ref.principal.ensure_can_access(ref.company_id)
        async with self._uow_factory() as uow:
            settings = await settings_of(uow, ref.company_id)
            deal = await self._crm.get_deal(ref.company_id, ref.deal_id)
            link = await _find_link(uow, ref.company_id, deal)
        options = await self._accounting.invoice_options(ref.company_id)
        prefs = options.preferences
        mapped = settings.field_mapping.apply(deal.snapshot)
        warnings: list[DraftWarning] = []
        for issue in mapped.issues:
            if issue.kind is MappingIssueKind.NOT_MAPPED:
                continue
            warnings.append(
                DraftWarning(
                    f"MAPPING_{issue.kind.value.upper()}",
                    _issue_message(issue.field.value, issue.kind, str(issue.source or "")),
                    f"customer.{issue.field.value}",
                )
            )

        linked: AccountingCustomer | None = None
        if link is not None:
            try:
                linked = await self._accounting.get_customer(
                    ref.company_id, link.quickbooks_customer_id
                )
            except NotFoundError:
                warnings.append(
                    DraftWarning(
                        "LINKED_CUSTOMER_GONE",
                        f"The linked QuickBooks customer '{link.display_name}' no longer exists; "
                        "pick another or create one.",
                        "customer.quickbooks_customer_id",
                    )
                )
        suggestions: list[AccountingCustomer] = []
        if linked is None:
            seen: set[str] = set()
            for text in (mapped.name, mapped.email):
                if text:
                    for found in await self._accounting.search_customers(
                        ref.company_id, text, limit=5
                    ):
                        if found.id not in seen:
                            seen.add(found.id)
                            suggestions.append(found)

        currency = (settings.default_currency or deal.currency or prefs.home_currency).upper()
        if not is_known_currency(currency):
            currency = prefs.home_currency
        warnings.extend(_currency_warnings(currency, options))
        customer = _draft_customer(mapped.name or deal.title, mapped, linked)
        if not customer.email:
            warnings.append(
                DraftWarning(
                    "NO_EMAIL",
                    "There is no email for this customer: QuickBooks cannot email the invoice "
                    "until one is added.",
                    "customer.email",
                )
            )
        lines, line_warnings = deal_lines(deal, options, settings, currency)
        warnings.extend(line_warnings)
        if not lines:
            warnings.append(
                DraftWarning(
                    "NO_LINES", "The deal has no products; add at least one line.", "lines"
                )
            )
        if not prefs.is_us_company and not settings.default_tax_code:
            warnings.append(
                DraftWarning(
                    "MISSING_TAX_CODE",
                    "This QuickBooks company needs a tax code on every line; choose one.",
                    "lines",
                )
            )
        issue_date = company_today(self._clock.now(), prefs.time_zone)
        return InvoiceDraft(
            company_id=ref.company_id,
            deal_id=ref.deal_id,
            customer=customer,
            linked_customer=linked,
            suggestions=tuple(suggestions),
            currency=currency,
            issue_date=issue_date,
            due_date=settings.due_date_policy.due_date(issue_date),
            terms_id=settings.default_terms,
            lines=lines,
            totals=totals_of(lines, currency),
            warnings=tuple(warnings),
            contact=(link.entity, link.entity_id)
            if link
            else next(iter(_link_targets(deal)), None),
            contact_linked=link is not None,
        )


def _issue_message(field: str, kind: MappingIssueKind, source: str) -> str:
    label = {"to": "To", "address": "Address", "email": "Email", "tax_id": "Tax ID"}[field]
    if kind is MappingIssueKind.ENTITY_MISSING:
        return (
            f"{label}: the deal has no {source.split('.')[0] or 'linked record'} to read it from."
        )
    if kind is MappingIssueKind.FIELD_EMPTY:
        return f"{label}: {source or 'the mapped field'} is empty on this deal."
    return f"{label}: {source or 'the mapped field'} does not hold a usable value."


def _draft_customer(name: str, mapped: Any, linked: AccountingCustomer | None) -> Customer:
    if linked is not None:
        base = linked.customer
        return Customer(
            display_name=base.display_name,
            email=mapped.email or base.email,
            billing_address=mapped.address or base.billing_address,
            tax_id=mapped.tax_id or base.tax_id,
            quickbooks_id=linked.id,
        )
    return Customer(
        display_name=(name or "Customer")[:100],
        email=mapped.email,
        billing_address=mapped.address,
        tax_id=mapped.tax_id,
    )


def _currency_warnings(currency: str, options: InvoiceOptions) -> list[DraftWarning]:
    prefs = options.preferences
    if currency == prefs.home_currency:
        return []
    if not prefs.multicurrency_enabled:
        return [
            DraftWarning(
                "CURRENCY_NOT_ENABLED",
                f"QuickBooks only invoices in {prefs.home_currency} for this company: turn on "
                f"multicurrency in QuickBooks to invoice in {currency}.",
                "currency",
            )
        ]
    if prefs.enabled_currencies and currency not in prefs.enabled_currencies:
        return [
            DraftWarning(
                "CURRENCY_NOT_ENABLED",
                f"{currency} is not among this QuickBooks company's currencies; add it in "
                "QuickBooks first.",
                "currency",
            )
        ]
    return []


async def _find_link(uow: UnitOfWork, company_id: str, deal: Deal) -> CustomerLink | None:
    for entity, entity_id in _link_targets(deal):
        link = await uow.customer_links.get(company_id, entity, entity_id)
        if link is not None:
            return link
    return None


def _link_targets(deal: Deal | DealParties) -> list[tuple[SourceEntity, str]]:
    targets = []
    if deal.organization_id:
        targets.append((SourceEntity.ORGANIZATION, deal.organization_id))
    if deal.person_id:
        targets.append((SourceEntity.PERSON, deal.person_id))
    return targets


# -- creating ----------------------------------------------------------------------------------


def _parse_date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidValueError(field, f"'{value[:40]}' is not a date (use YYYY-MM-DD).") from None


def _address(value: AddressInput | None) -> Address | None:
    if value is None:
        return None
    address = Address(**asdict(value))
    return None if address.is_empty() else address


def _line_row(line: LineInput, currency: str) -> dict[str, Any]:
    return {
        "name": line.name,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "discount": line.discount or "0",
        "discount_kind": line.discount_kind or "percentage",
        "tax_rate": line.tax_rate or "0",
        "tax_method": line.tax_method or "none",
        "item_ref": line.item_id or None,
        "tax_code_ref": line.tax_code_id or None,
        "kind": line.kind or "item",
    }


def request_hash(deal: DealRef, data: InvoiceInput) -> str:
    payload = json.dumps(
        {"company": deal.company_id, "deal": deal.deal_id, "invoice": asdict(data)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Built:
    invoice: Invoice
    creation: CreationOptions


class CreateInvoice:
    """CreateInvoice with AIP-155 idempotency: stored as CREATING first, then finished."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        accounting: AccountingGateway,
        crm: CrmGateway,
        clock: Clock,
        finish: FinishInvoiceCreation,
        jobs: JobQueue | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        *,
        intake: InvoiceIntake | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting
        self._crm = crm
        self._clock = clock
        self._finish = finish
        self._jobs = jobs
        self._new_id = new_id
        self._intake = intake or UnitOfWorkIntake(uow_factory)
        self._reader = InvoiceReader(accounting, clock)

    async def execute(self, cmd: CreateInvoiceCommand) -> InvoiceView:
        ref = cmd.deal
        ref.principal.ensure_can_access(ref.company_id)
        request_id = validate_request_id(cmd.request_id)
        fingerprint = request_hash(ref, cmd.invoice)
        # The preflight read is best effort (and cached): during an outage the invoice is still
        # accepted (as CREATING) and QuickBooks itself judges it when it is back. Read before the
        # transaction (no vendor call inside one); its other failures count only if this is not
        # a replay, which answers whatever QuickBooks says now.
        options: InvoiceOptions | None = None
        options_failure: ApplicationError | None = None
        try:
            options = await self._accounting.invoice_options(ref.company_id)
        except UpstreamUnavailableError:
            pass
        except ApplicationError as exc:
            options_failure = exc
        # The request id is claimed as the invoice is stored (one step): a replay finds it
        # claimed and answers the first result. Checks that fail here may be a replay's, which
        # answers whatever it answered first, so a failure looks for the request id first.
        try:
            if options_failure is not None:
                raise options_failure
            settings = await self._intake.settings(ref.company_id) or CompanySettings.default(
                ref.company_id
            )
            built = self._build(ref, cmd.invoice, settings, options)
        except (ApplicationError, DomainError):
            replayed = await self._replay(ref, request_id, fingerprint) if request_id else None
            if replayed is None:
                raise
            return replayed
        claimed = await self._intake.store_requested(
            built.invoice,
            actor=ref.principal.subject,
            creation=built.creation,
            request=(request_id, IdempotencyRecord(fingerprint, built.invoice.id))
            if request_id
            else None,
        )
        if not claimed:
            # A call with the same request id (a double click, a client retrying before the
            # first answer) stored its invoice first; Postgres made our claim wait for it.
            replayed = await self._replay(ref, request_id, fingerprint)
            if replayed is None:
                raise ConcurrencyConflictError("request id claimed concurrently")
            return replayed
        log.info(
            "invoice.creation_requested",
            invoice_id=built.invoice.id,
            deal_id=ref.deal_id,
            company_id=ref.company_id,
        )
        # Finished from what was just stored: reading it back would only cost round trips.
        invoice = await self._unless_cut_short(
            ref.company_id,
            built.invoice.id,
            self._finish.finish(built.invoice, built.creation, settings),
        )
        return await self._view(ref.company_id, invoice)

    async def _finished_view(self, company_id: str, invoice_id: str) -> InvoiceView:
        invoice = await self._unless_cut_short(
            company_id, invoice_id, self._finish.execute(company_id, invoice_id)
        )
        return await self._view(company_id, invoice)

    async def _unless_cut_short(
        self, company_id: str, invoice_id: str, finishing: Awaitable[Invoice]
    ) -> Invoice:
        """``finishing``, unless the caller gives up meanwhile (its deadline passed, the server
        is shutting down): then the invoice, stored as CREATING, is left to a job now rather
        than to the sweep a minute or more later."""
        try:
            return await finishing
        except asyncio.CancelledError:
            if self._jobs is not None:
                try:
                    await asyncio.shield(self._jobs.finish_creation(company_id, invoice_id))
                except Exception as exc:  # the queue is closing too: the sweep will find it
                    log.warning(
                        "invoice.finish_not_queued", invoice_id=invoice_id, error=type(exc).__name__
                    )
            raise

    async def _view(self, company_id: str, invoice: Invoice) -> InvoiceView:
        if invoice.state is InvoiceState.CREATING and self._jobs is not None:
            # QuickBooks could not be reached: a durable job retries with backoff.
            await self._jobs.finish_creation(company_id, invoice.id)
        return await self._reader.view(invoice, await self._reader.today(company_id))

    async def _replay(self, ref: DealRef, request_id: str, fingerprint: str) -> InvoiceView | None:
        async with self._uow_factory() as uow:
            record = await uow.idempotency.get(ref.company_id, request_id)
        if record is None:
            return None
        return await self._replayed(ref, request_id, record, fingerprint)

    async def _replayed(
        self, ref: DealRef, request_id: str, record: IdempotencyRecord, fingerprint: str
    ) -> InvoiceView:
        if record.request_hash != fingerprint:
            raise RequestIdReusedError(
                "This request_id was already used for a different invoice; use a new one.",
                metadata={"request_id": request_id},
            )
        # The first call's invoice; finish it if it is still being created (a retry after a
        # crash or an outage must not wait for the background sweep).
        return await self._finished_view(ref.company_id, record.resource_id)

    def _build(
        self,
        ref: DealRef,
        data: InvoiceInput,
        settings: CompanySettings,
        options: InvoiceOptions | None,
    ) -> _Built:
        violations: list[FieldViolation] = []
        currency = data.currency.strip().upper()
        if options and currency and is_known_currency(currency):
            for warning in _currency_warnings(currency, options):
                violations.append(FieldViolation("invoice.currency", warning.message))
        customer: Customer | None = None
        try:
            customer = Customer(
                display_name=data.customer.display_name,
                email=data.customer.email or None,
                billing_address=_address(data.customer.address),
                tax_id=data.customer.tax_id or None,
                quickbooks_id=data.customer.quickbooks_customer_id or None,
            )
        except InvalidValueError as exc:
            violations.extend(exc.prefixed("invoice.customer").violations)
        lines: tuple[InvoiceLine, ...] = ()
        try:
            lines = build_lines([_line_row(line, currency) for line in data.lines])
        except InvalidValueError as exc:
            violations.extend(exc.prefixed("invoice").violations)
        if options and not options.preferences.is_us_company:
            for index, line in enumerate(lines):
                if not line.is_discount and not line.tax_code_ref:
                    violations.append(
                        FieldViolation(
                            f"invoice.lines[{index}].tax_code_id",
                            "This QuickBooks company needs a tax code on every line.",
                        )
                    )
        issue_date: date | None = None
        due_date: date | None = None
        try:
            issue_date = _parse_date(data.issue_date, "invoice.issue_date")
        except InvalidValueError as exc:
            violations.extend(exc.violations)
        try:
            due_date = _parse_date(data.due_date, "invoice.due_date")
        except InvalidValueError as exc:
            violations.extend(exc.violations)
        if violations or customer is None:
            raise InvalidValueError.many(violations)
        now = self._clock.now()
        zone = options.preferences.time_zone if options else None
        issue_date = issue_date or company_today(now, zone)
        if due_date is None:
            due_date = settings.due_date_policy.due_date(issue_date)
        try:
            invoice = Invoice.request(
                id=InvoiceId(self._new_id()),
                company_id=CompanyId(ref.company_id),
                deal_id=DealId(ref.deal_id),
                customer=customer,
                lines=lines,
                currency=currency,
                issue_date=issue_date,
                due_date=due_date,
                memo=data.memo,
                created_by=ref.principal.subject,
                now=now,
            )
        except InvalidValueError as exc:
            raise exc.prefixed("invoice") from None
        # Which organization or person to remember the customer for is the deal follow-up's
        # business (after QuickBooks created the invoice): no Pipedrive call on this path.
        return _Built(
            invoice,
            CreationOptions(
                update_customer_details=data.update_customer_details,
                requested_by=ref.principal.subject,
            ),
        )


def _confirm(
    invoice: Invoice, created: AccountingInvoice, customer: AccountingCustomer, now: datetime
) -> None:
    """What QuickBooks created, applied to the CREATING invoice (now in sync with it)."""
    invoice.confirm_created(
        created.id,
        created.doc_number,
        created.sync_token,
        created.total,
        now,
        customer_quickbooks_id=customer.id,
    )
    invoice.mark_synced(now)


class FinishInvoiceCreation:
    """Take a CREATING invoice to OPEN (or CREATE_FAILED). Safe to run any number of times, from
    any process: QuickBooks writes carry request ids derived from the invoice id.

    Whoever confirms the invoice records its deal follow-up (customer link, note) in the same
    transaction, then queues it: nothing on the deal is lost if the process stops there, and
    the caller does not wait for Pipedrive. Without a job queue it runs at once."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        accounting: AccountingGateway,
        crm: CrmGateway,
        clock: Clock,
        jobs: JobQueue | None = None,
        *,
        intake: InvoiceIntake | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting
        self._crm = crm
        self._clock = clock
        self._jobs = jobs
        self._intake = intake or UnitOfWorkIntake(uow_factory)
        self._follow_up = FollowUpOnDeal(uow_factory, crm, clock)

    async def execute(self, company_id: str, invoice_id: str) -> Invoice:
        async with self._uow_factory() as uow:
            invoice = await uow.invoices.get(company_id, invoice_id)
            if invoice is None:
                raise NotFoundError("invoice", invoice_id)
            creation = await uow.invoices.creation_options(company_id, invoice_id)
            settings = await settings_of(uow, company_id)
        return await self.finish(invoice, creation, settings)

    async def finish(
        self, invoice: Invoice, creation: CreationOptions, settings: CompanySettings
    ) -> Invoice:
        """``execute`` for an invoice the caller just read or stored (with its options); the
        caller hands it over (it is recorded as it changes) and uses what this returns."""
        company_id, invoice_id = invoice.company_id, invoice.id
        if invoice.state is not InvoiceState.CREATING:
            return invoice
        try:
            customer = await self._ensure_customer(invoice, creation, settings)
            created = await self._accounting.create_invoice(
                company_id, _with_customer(invoice, customer), request_id=f"inv-{invoice.id}"
            )
        except UpstreamRejectedError as exc:
            rejected, _ = await self._record(company_id, invoice_id, rejected=exc.message)
            return rejected
        except (UpstreamUnavailableError, IntegrationNotConnectedError) as exc:
            log.warning(
                "invoice.creation_deferred",
                invoice_id=invoice.id,
                reason=exc.reason,
                detail=exc.message,
            )
            return invoice  # still CREATING; a retry or the background sweep finishes it
        finished, confirmed_here = await self._record_created(invoice, created, customer, creation)
        if confirmed_here:  # one follow-up per invoice, from whichever process confirmed it
            await self._start_follow_up(company_id, invoice_id)
        return finished

    async def _start_follow_up(self, company_id: str, invoice_id: str) -> None:
        if self._jobs is not None:
            await self._jobs.follow_up_on_deal(company_id, invoice_id)
            return
        try:
            await self._follow_up.execute(company_id, invoice_id)
        except Exception as exc:  # the note is a courtesy; the invoice exists either way
            log.warning("invoice.note_failed", invoice_id=invoice_id, error=type(exc).__name__)

    async def _ensure_customer(
        self, invoice: Invoice, creation: CreationOptions, settings: CompanySettings
    ) -> AccountingCustomer:
        company_id = invoice.company_id
        wanted = invoice.customer
        if wanted.quickbooks_id:
            if not (creation.update_customer_details or settings.copy_customer_details):
                # Linked and nothing to copy: QuickBooks itself refuses an unknown customer,
                # so reading it first would only cost a call against the rate limit.
                return AccountingCustomer(id=wanted.quickbooks_id, customer=wanted)
            existing = await self._accounting.get_customer(company_id, wanted.quickbooks_id)
            differences = wanted.differences(existing.customer)
            if differences:
                existing = await self._accounting.update_customer_details(
                    company_id, existing.id, wanted, differences
                )
            return existing
        return await self._accounting.create_customer(
            company_id, wanted, request_id=f"cus-{invoice.id}"
        )

    async def _record_created(
        self,
        invoice: Invoice,
        created: AccountingInvoice,
        customer: AccountingCustomer,
        creation: CreationOptions,
    ) -> tuple[Invoice, bool]:
        """``_record`` for the invoice as the caller read or stored it: saved in one step if
        nobody changed it since (the usual case), else read again and recorded."""
        if not creation.link_entity:  # a link to remember goes through ``_record``
            now = self._clock.now()
            read_version = invoice.version
            _confirm(invoice, created, customer, now)  # the caller's copy: ``finish`` took it
            follow_up = await self._follow_up_for(invoice, created, customer, creation, now)
            if await self._intake.record_created(
                invoice, read_version=read_version, actor=QUICKBOOKS_ACTOR, follow_up=follow_up
            ):
                self._log_created(invoice, created)
                return invoice, True
        return await self._record(
            invoice.company_id, invoice.id, created=created, customer=customer, creation=creation
        )

    def _log_created(self, invoice: Invoice, created: AccountingInvoice) -> None:
        log.info(
            "invoice.created",
            invoice_id=invoice.id,
            quickbooks_id=created.id,
            doc_number=created.doc_number,
            totals_mismatch=invoice.totals_mismatch,
        )

    async def _record(
        self,
        company_id: str,
        invoice_id: str,
        *,
        created: AccountingInvoice | None = None,
        customer: AccountingCustomer | None = None,
        creation: CreationOptions | None = None,
        rejected: str | None = None,
    ) -> tuple[Invoice, bool]:
        """The invoice after recording the outcome, and whether this call recorded it."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            invoice = await uow.invoices.get_for_update(company_id, invoice_id)
            if invoice is None:
                raise NotFoundError("invoice", invoice_id)
            if invoice.state is not InvoiceState.CREATING:
                return invoice, False  # another process finished it first
            if rejected is not None:
                invoice.reject(rejected, now)
                log.info("invoice.creation_rejected", invoice_id=invoice_id, reason=rejected)
            else:
                assert created is not None
                assert customer is not None
                _confirm(invoice, created, customer, now)
                if creation and creation.link_entity and creation.link_entity_id:
                    await uow.customer_links.put(
                        CustomerLink(
                            company_id=company_id,
                            entity=creation.link_entity,
                            entity_id=creation.link_entity_id,
                            quickbooks_customer_id=customer.id,
                            display_name=customer.customer.display_name,
                            linked_at=now,
                            linked_by=creation.requested_by,
                        )
                    )
                await uow.deal_follow_ups.add(
                    await self._follow_up_for(invoice, created, customer, creation, now)
                )
                self._log_created(invoice, created)
            await uow.invoices.save(invoice, actor=QUICKBOOKS_ACTOR if rejected is None else None)
            await uow.commit()
        return invoice, True

    async def _follow_up_for(
        self,
        invoice: Invoice,
        created: AccountingInvoice,
        customer: AccountingCustomer,
        creation: CreationOptions | None,
        now: datetime,
    ) -> DealFollowUp:
        link = await self._accounting.invoice_link(invoice.company_id, created.id)
        due = created.due_date.isoformat() if created.due_date else "on receipt"
        return DealFollowUp(
            company_id=invoice.company_id,
            invoice_id=invoice.id,
            deal_id=invoice.deal_id,
            note=(
                f"QuickBooks invoice {created.doc_number or created.id} created: "
                f"{created.total}, due {due}.\n{link}"
            ),
            marker=link,
            quickbooks_customer_id=customer.id,
            customer_name=customer.customer.display_name,
            requested_by=creation.requested_by if creation else invoice.created_by,
            state=FollowUpState.PENDING,
            created_at=now,
            updated_at=now,
        )


class FollowUpOnDeal:
    """After QuickBooks created an invoice: remember its QuickBooks customer for the deal's
    organization (else person), and add the note to the deal, exactly once.

    Runs as a durable job (retried; the sweep queues it again if it is lost). The note is
    marked SENDING before it is posted: a run that finds SENDING (an earlier one stopped after
    it may have posted) reads the deal's notes first and posts only if the note is not there.
    """

    def __init__(self, uow_factory: UnitOfWorkFactory, crm: CrmGateway, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._crm = crm
        self._clock = clock

    async def execute(self, company_id: str, invoice_id: str) -> None:
        async with self._uow_factory() as uow:
            follow_up = await uow.deal_follow_ups.get(company_id, invoice_id)
        if follow_up is None or follow_up.state is FollowUpState.DONE:
            return
        try:
            deal: DealParties | None = await self._crm.deal_parties(company_id, follow_up.deal_id)
        except NotFoundError:
            deal = None  # the deal is gone: nobody to link, nowhere to write
        except (IntegrationNotConnectedError, UpstreamRejectedError) as exc:
            await self._give_up(follow_up, exc)
            return
        posted = False
        if deal is not None and follow_up.state is FollowUpState.SENDING:
            notes = await self._crm.deal_notes(company_id, follow_up.deal_id)
            posted = any(follow_up.marker in text for text in notes)
        now = self._clock.now()
        async with self._uow_factory() as uow:
            targets = _link_targets(deal) if deal is not None else []
            if targets:
                entity, entity_id = targets[0]
                await uow.customer_links.put(
                    CustomerLink(
                        company_id=company_id,
                        entity=entity,
                        entity_id=entity_id,
                        quickbooks_customer_id=follow_up.quickbooks_customer_id,
                        display_name=follow_up.customer_name,
                        linked_at=now,
                        linked_by=follow_up.requested_by,
                    )
                )
            done = deal is None or posted
            state = FollowUpState.DONE if done else FollowUpState.SENDING
            await uow.deal_follow_ups.mark(company_id, invoice_id, state, now)
            await uow.commit()
        if done:
            return
        try:
            await self._crm.add_deal_note(company_id, follow_up.deal_id, follow_up.note)
        except (IntegrationNotConnectedError, UpstreamRejectedError) as exc:
            await self._give_up(follow_up, exc)
            return
        await self._mark(follow_up, FollowUpState.DONE)
        log.info("invoice.note_added", invoice_id=invoice_id, deal_id=follow_up.deal_id)

    async def _give_up(self, follow_up: DealFollowUp, exc: ApplicationError) -> None:
        """Pipedrive refuses (not connected, a rejected request): retrying would not help."""
        log.warning("invoice.note_failed", invoice_id=follow_up.invoice_id, reason=exc.reason)
        await self._mark(follow_up, FollowUpState.DONE)

    async def _mark(self, follow_up: DealFollowUp, state: FollowUpState) -> None:
        async with self._uow_factory() as uow:
            await uow.deal_follow_ups.mark(
                follow_up.company_id, follow_up.invoice_id, state, self._clock.now()
            )
            await uow.commit()


def _with_customer(invoice: Invoice, customer: AccountingCustomer) -> Invoice:
    """The invoice as sent to QuickBooks: linked to the customer QuickBooks knows."""
    clone = copy.copy(invoice)
    clone.customer = invoice.customer.with_quickbooks_id(customer.id)
    return clone


# -- reading -----------------------------------------------------------------------------------


class GetInvoice:
    """A pure read: one query through the read model, no unit of work."""

    def __init__(self, queries: InvoiceQueries, reader: InvoiceReader) -> None:
        self._queries = queries
        self._reader = reader

    async def execute(self, ref: InvoiceRef) -> InvoiceView:
        ref.principal.ensure_can_access(ref.company_id)
        invoice = await self._queries.get(ref.company_id, ref.invoice_id)
        if invoice is None or invoice.deal_id != ref.deal_id:
            raise NotFoundError(
                "invoice",
                f"companies/{ref.company_id}/deals/{ref.deal_id}/invoices/{ref.invoice_id}",
            )
        return await self._reader.view(invoice, await self._reader.today(ref.company_id))


class ListInvoices:
    """A pure read: one query through the read model, no unit of work."""

    def __init__(self, queries: InvoiceQueries, reader: InvoiceReader) -> None:
        self._queries = queries
        self._reader = reader

    async def execute(self, cmd: ListPageCommand) -> Page[InvoiceView]:
        ref = cmd.deal
        ref.principal.ensure_can_access(ref.company_id)
        size = page_size_of(cmd.page_size)
        parent = deal_parent(ref)
        position = decode_token(parent, cmd.page_token)
        after = None
        if position is not None:
            try:
                after = PageCursor(datetime.fromisoformat(position["t"]), str(position["i"]))
            except (KeyError, ValueError, TypeError):
                raise InvalidValueError("page_token", "This page token is damaged.") from None
        rows = await self._queries.list_for_deal(
            ref.company_id, ref.deal_id, limit=size + 1, after=after
        )
        today = await self._reader.today(ref.company_id)
        items = await self._reader.views(rows[:size], today)
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = encode_token(parent, {"t": last.created_at.isoformat(), "i": last.id})
        return Page(items=items, next_page_token=token)


class ListInvoiceEvents:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def execute(self, cmd: ListPageCommand) -> Page[RecordedEvent]:
        ref = cmd.deal
        ref.principal.ensure_can_access(ref.company_id)
        size = page_size_of(cmd.page_size)
        parent = deal_parent(ref) + "/events"
        position = decode_token(parent, cmd.page_token)
        before = None
        if position is not None:
            before = position.get("b")
            if not isinstance(before, int):
                raise InvalidValueError("page_token", "This page token is damaged.")
        async with self._uow_factory() as uow:
            rows = await uow.invoice_events.list_for_deal(
                ref.company_id, ref.deal_id, limit=size + 1, before_id=before
            )
        token = encode_token(parent, {"b": rows[size - 1].id}) if len(rows) > size else ""
        return Page(items=rows[:size], next_page_token=token)


# -- actions -----------------------------------------------------------------------------------


class _InvoiceAction:
    """Shared shape of void/delete/send: check the state, call QuickBooks, record the outcome."""

    action = ""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, accounting: AccountingGateway, clock: Clock
    ) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting
        self._clock = clock
        self._reader = InvoiceReader(accounting, clock)

    async def _checked(self, ref: InvoiceRef) -> Invoice:
        async with self._uow_factory() as uow:
            invoice = await load_invoice(uow, ref)
        if not invoice.can(self.action):
            raise InvalidStateTransitionError(invoice.id, invoice.state.name, self.action)
        return invoice

    async def _record(
        self,
        ref: InvoiceRef,
        change: Callable[[Invoice, datetime], None],
    ) -> InvoiceView:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            invoice = await load_invoice(uow, ref, for_update=True)
            change(invoice, now)
            invoice.mark_synced(now)
            await uow.invoices.save(invoice, actor=ref.principal.subject)
            await uow.commit()
        return await self._reader.view(invoice, await self._reader.today(ref.company_id))


class VoidInvoice(_InvoiceAction):
    action = "void"

    async def execute(self, cmd: InvoiceActionCommand) -> InvoiceView:
        ref = cmd.invoice
        invoice = await self._checked(ref)
        assert invoice.quickbooks_id is not None  # OPEN/PAID states always have one
        facts = await self._accounting.void_invoice(
            ref.company_id, invoice.quickbooks_id, request_id=f"void-{invoice.id}"
        )

        def change(current: Invoice, now: datetime) -> None:
            if current.state is InvoiceState.VOIDED:
                return
            current.void(now)
            current.sync_token = facts.sync_token

        return await self._record(ref, change)


class DeleteInvoice(_InvoiceAction):
    action = "delete"

    async def execute(self, cmd: InvoiceActionCommand) -> InvoiceView:
        ref = cmd.invoice
        invoice = await self._checked(ref)
        if invoice.quickbooks_id:
            # Already gone from QuickBooks: deleting it here is all that is left.
            with contextlib.suppress(NotFoundError):
                await self._accounting.delete_invoice(
                    ref.company_id, invoice.quickbooks_id, request_id=f"del-{invoice.id}"
                )

        def change(current: Invoice, now: datetime) -> None:
            if current.state is not InvoiceState.DELETED:
                current.delete(now)

        return await self._record(ref, change)


class SendInvoice(_InvoiceAction):
    action = "send"

    async def execute(self, cmd: SendInvoiceCommand) -> InvoiceView:
        ref = cmd.invoice
        to = cmd.to.strip()
        if to:
            try:
                Customer(display_name="recipient", email=to)
            except InvalidValueError:
                raise InvalidValueError("to", f"'{to[:80]}' is not an email address.") from None
        invoice = await self._checked(ref)
        recipient = to or invoice.customer.email
        if not recipient:
            raise InvalidValueError(
                "to", "This invoice's customer has no email: give an address to send it to."
            )
        assert invoice.quickbooks_id is not None
        stamp = self._clock.now().strftime("%Y%m%d%H%M%S")
        facts = await self._accounting.send_invoice(
            ref.company_id,
            invoice.quickbooks_id,
            to=to or None,
            request_id=validate_request_id(cmd.request_id) or f"send-{invoice.id}-{stamp}",
        )

        def change(current: Invoice, now: datetime) -> None:
            current.record_sent(recipient, now)
            current.sync_token = facts.sync_token

        return await self._record(ref, change)


class GetInvoicePdf:
    def __init__(self, uow_factory: UnitOfWorkFactory, accounting: AccountingGateway) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting

    async def execute(self, ref: InvoiceRef) -> PdfView:
        async with self._uow_factory() as uow:
            invoice = await load_invoice(uow, ref)
        if invoice.quickbooks_id is None or invoice.state is InvoiceState.DELETED:
            raise InvalidStateTransitionError(invoice.id, invoice.state.name, "download_pdf")
        content = await self._accounting.invoice_pdf(ref.company_id, invoice.quickbooks_id)
        return PdfView(filename=f"invoice-{invoice.doc_number or invoice.id}.pdf", content=content)


# -- refreshing from QuickBooks ------------------------------------------------------------------


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
    if facts.voided:
        if invoice.state is not InvoiceState.VOIDED:
            changed = invoice.apply_accounting_facts(
                facts.total, facts.balance, facts.sync_token, facts.due_date, now, voided=True
            )
    elif invoice.state is not InvoiceState.VOIDED:
        changed = invoice.apply_accounting_facts(
            facts.total, facts.balance, facts.sync_token, facts.due_date, now
        )
    if invoice.record_overdue(today, now):
        changed = True
    invoice.mark_synced(now)
    return changed


class RefreshInvoices:
    """Pull the current facts of a deal's invoices from QuickBooks now (one read call)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        queries: InvoiceQueries,
        accounting: AccountingGateway,
        clock: Clock,
        finish: FinishInvoiceCreation,
    ) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting
        self._clock = clock
        self._finish = finish
        self._reader = InvoiceReader(accounting, clock)
        self._list = ListInvoices(queries, self._reader)

    async def execute(self, ref: DealRef) -> Page[InvoiceView]:
        ref.principal.ensure_can_access(ref.company_id)
        async with self._uow_factory() as uow:
            invoices = await uow.invoices.list_for_deal(
                ref.company_id, ref.deal_id, limit=MAX_PAGE_SIZE
            )
        stale_creating = [
            i
            for i in invoices
            if i.state is InvoiceState.CREATING
            and i.updated_at < self._clock.now() - timedelta(seconds=5)
        ]
        for invoice in stale_creating:
            await self._finish.execute(ref.company_id, invoice.id)
        ids = [
            i.quickbooks_id
            for i in invoices
            if i.quickbooks_id and i.state is not InvoiceState.DELETED
        ]
        facts = await self._accounting.get_invoices(ref.company_id, ids) if ids else {}
        now = self._clock.now()
        today = await self._reader.today(ref.company_id)
        async with self._uow_factory() as uow:
            current = await uow.invoices.find_by_quickbooks_ids(ref.company_id, ids)
            for invoice in current:
                assert invoice.quickbooks_id is not None
                apply_facts(invoice, facts.get(invoice.quickbooks_id), today=today, now=now)
                await uow.invoices.save(invoice, actor=QUICKBOOKS_ACTOR)
            await uow.commit()
        # What the deal shows now: the first page, exactly as ListInvoices gives it.
        return await self._list.execute(ListPageCommand(ref))
