"""Persistence ports: repositories and the unit of work that commits them together."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self

from application.ports.crm import DealFieldKeys, DealInvoiceTotals
from application.views import InvoiceView
from domain.events import DomainEvent
from domain.field_mapping import SourceEntity
from domain.installment_schedule import Installment
from domain.invoice import Invoice
from domain.invoice_rule import InvoiceRule, RuleRun
from domain.invoice_template import InvoiceExtras, InvoiceTemplate
from domain.settings import CompanySettings
from domain.timeline import EntryKind, Milestone


class SettingsRepository(Protocol):
    async def get(self, company_id: str) -> CompanySettings | None:
        """The company's stored settings, or None when it never saved any."""
        ...

    async def save(self, settings: CompanySettings) -> CompanySettings:
        """Store ``settings`` if nobody stored another version since it was read.

        ``settings.version`` is the version that was read (0 for never stored). Returns the stored
        settings with the new version; raises ``ConcurrencyConflictError`` on a stale version.
        """
        ...

    async def delete(self, company_id: str) -> None:
        """Forget the company's settings (uninstall); nothing happens when it has none."""
        ...


class InvoiceTemplateRepository(Protocol):
    async def list(self, company_id: str) -> list[InvoiceTemplate]:
        """The company's templates, by name."""
        ...

    async def get(self, company_id: str, template_id: str) -> InvoiceTemplate | None: ...

    async def save(self, template: InvoiceTemplate) -> InvoiceTemplate:
        """Store ``template`` (``version`` 0: a new one) if nobody stored another version since
        it was read; returns it with its new version. Raises ``ConcurrencyConflictError`` on a
        stale version or a name another template took meanwhile."""
        ...

    async def delete(self, company_id: str, template_id: str) -> bool:
        """False when there was no such template."""
        ...


class InvoiceRuleRepository(Protocol):
    async def list(self, company_id: str) -> list[InvoiceRule]:
        """The company's invoicing rules, oldest first."""
        ...

    async def get(self, company_id: str, rule_id: str) -> InvoiceRule | None: ...

    async def save(self, rule: InvoiceRule) -> InvoiceRule:
        """Store ``rule`` (``version`` 0: a new one) if nobody stored another version since it
        was read; returns it with its new version. Raises ``ConcurrencyConflictError`` on a
        stale version."""
        ...

    async def delete(self, company_id: str, rule_id: str) -> bool:
        """False when there was no such rule (its runs stay: a deal is never invoiced twice by
        a rule deleted and made again under the same id)."""
        ...


class RuleRunRepository(Protocol):
    async def add(self, run: RuleRun) -> bool:
        """Store a new run unless the (company, rule, deal) has one already: False then (the
        first stays; concurrent adds wait for each other and one of them wins)."""
        ...

    async def get(self, company_id: str, rule_id: str, deal_id: str) -> RuleRun | None: ...

    async def get_for_update(self, company_id: str, rule_id: str, deal_id: str) -> RuleRun | None:
        """The run, locked until the transaction ends (two jobs never finish it at once)."""
        ...

    async def save(self, run: RuleRun) -> None:
        """Replace the stored run (read in the same transaction)."""
        ...

    async def list_for_deal(self, company_id: str, deal_id: str) -> list[RuleRun]:
        """The deal's runs, newest first."""
        ...

    async def list_pending(self, *, older_than: datetime, limit: int) -> list[RuleRun]:
        """Runs still PENDING since before ``older_than`` (a queueing lost to a crash)."""
        ...


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Keyset position in a newest-first list: the last row of the previous page."""

    created_at: datetime
    id: str


@dataclass(frozen=True, slots=True)
class CreationOptions:
    """What finishing a creation needs beyond the invoice: where to remember the customer link,
    and whether to copy the customer's details to QuickBooks."""

    link_entity: SourceEntity | None = None
    link_entity_id: str | None = None
    update_customer_details: bool = False
    requested_by: str | None = None
    exchange_rate: str | None = None  # the user's own rate, as text; None: QuickBooks' rate
    # Private note, custom fields, CC/BCC, online payment (the template's, then the user's).
    extras: InvoiceExtras | None = None
    # Sent with others in one QuickBooks batch: its request id and every member invoice's id,
    # in the order sent. Set when the invoice is stored, so that finishing it after a crash or
    # a timeout re-sends the very same batch, which QuickBooks answers once.
    batch_request_id: str | None = None
    batch_members: tuple[str, ...] = ()


class QuickBooksIdHeldError(Exception):
    """``InvoiceRepository.save``: another invoice of the company, of the connected QuickBooks
    company, holds the QuickBooks id being saved (the unit of work cannot go on: roll it back).
    QuickBooks never gives one company's id twice, so that invoice is of the company's books
    before a reset under the same realm id."""

    def __init__(self, quickbooks_id: str) -> None:
        super().__init__(f"QuickBooks invoice {quickbooks_id} is held by another invoice")
        self.quickbooks_id = quickbooks_id


class InvoiceRepository(Protocol):
    async def get(self, company_id: str, invoice_id: str) -> Invoice | None: ...

    async def get_for_update(self, company_id: str, invoice_id: str) -> Invoice | None:
        """As ``get``, locking the row until the transaction ends (one finisher at a time)."""
        ...

    async def add(
        self,
        invoice: Invoice,
        *,
        actor: str | None = None,
        actor_name: str | None = None,
        creation: CreationOptions | None = None,
    ) -> None: ...

    async def creation_options(self, company_id: str, invoice_id: str) -> CreationOptions: ...

    async def save(
        self, invoice: Invoice, *, actor: str | None = None, actor_name: str | None = None
    ) -> None:
        """Store the changes of an invoice read in this unit of work, and its pending events
        (attributed to ``actor``: a user id, or "quickbooks" for facts read from QuickBooks;
        ``actor_name``: the person's name, for the history).

        Raises ``ConcurrencyConflictError`` if someone else stored it since it was read, and
        ``QuickBooksIdHeldError`` if another invoice holds its QuickBooks id.
        """
        ...

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, after: PageCursor | None = None
    ) -> list[Invoice]:
        """Newest first."""
        ...

    async def deal_ids(
        self, company_id: str, *, among: Sequence[str] | None = None, live: bool = False
    ) -> list[str]:
        """The deals that have invoices, each once: of ``among`` only when given, and with
        ``live`` only invoices that stand (not failed, voided or deleted)."""
        ...

    async def find_by_quickbooks_ids(
        self, company_id: str, quickbooks_ids: Sequence[str], *, lock: bool = False
    ) -> list[Invoice]:
        """With ``lock``, each found invoice is held until the unit of work ends, taken in one
        order (a second writer waits, then reads what the first stored)."""
        ...

    async def set_aside(self, company_id: str, invoice_id: str) -> None:
        """The invoice is no longer the connected QuickBooks company's, though that company
        has the same realm id: its books were reset, and its QuickBooks id now names another
        invoice. It reads as of another QuickBooks company from now on (never found by its
        QuickBooks id, never acted on in QuickBooks)."""
        ...

    async def mark_synced(
        self, company_id: str, quickbooks_ids: Sequence[str], now: datetime
    ) -> None:
        """Record that these invoices were just read from QuickBooks, with nothing else to
        change (``Invoice.mark_synced`` for many at once, without reading them again)."""
        ...

    async def list_unsettled(self, company_id: str) -> list[Invoice]:
        """The company's OPEN and PARTIALLY_PAID invoices (what a full reconciliation reads)."""
        ...

    async def companies_with_overdue_unrecorded(self, due_before: date) -> list[str]:
        """Companies (any) with an OPEN or PARTIALLY_PAID invoice with a balance, due before
        ``due_before``, whose overdue is not recorded for that due date: the only ones the
        hourly overdue pass needs to look at."""
        ...

    async def list_creating(self, *, older_than: datetime, limit: int) -> list[Invoice]:
        """Invoices stuck in CREATING since before ``older_than`` (any company), oldest first."""
        ...


class InvoiceViews(Protocol):
    """The read side behind GetInvoice and ListInvoices: one query per answer, outside any unit
    of work, into immutable views (status on ``today``, the company's local date)."""

    async def get(self, company_id: str, invoice_id: str, *, today: date) -> InvoiceView | None:
        """The company's invoice, or None (also when it belongs to another company)."""
        ...

    async def list_for_deal(
        self,
        company_id: str,
        deal_id: str,
        *,
        today: date,
        limit: int,
        after: PageCursor | None = None,
    ) -> list[InvoiceView]:
        """Newest first, as ``InvoiceRepository.list_for_deal``."""
        ...


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A stored domain event: one line of a deal's invoicing history."""

    id: int
    company_id: str
    deal_id: str
    invoice_id: str
    event: DomainEvent
    actor: str | None
    actor_name: str | None = None  # the person's name when the actor is one


class InvoiceEventRepository(Protocol):
    async def list_for_deal(
        self,
        company_id: str,
        deal_id: str,
        *,
        limit: int,
        before_id: int | None = None,
        invoice_id: str | None = None,
    ) -> list[RecordedEvent]:
        """Newest first; only ``invoice_id``'s when given."""
        ...


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    request_hash: str
    resource_id: str


class IdempotencyStore(Protocol):
    """AIP-155 request ids: what each one created, and a hash of the request that did it."""

    async def get(self, company_id: str, key: str) -> IdempotencyRecord | None: ...

    async def put(self, company_id: str, key: str, record: IdempotencyRecord) -> bool:
        """Store unless the key exists; False when another request got there first."""
        ...


@dataclass(frozen=True, slots=True)
class CustomerLink:
    """A Pipedrive organization or person linked to a QuickBooks customer, one per currency
    (a QuickBooks customer has one currency); ``currency`` is "" for links made before."""

    company_id: str
    entity: SourceEntity
    entity_id: str
    quickbooks_customer_id: str
    display_name: str
    linked_at: datetime
    linked_by: str | None = None
    currency: str = ""


class CustomerLinkRepository(Protocol):
    async def get(
        self, company_id: str, entity: SourceEntity, entity_id: str, currency: str | None = None
    ) -> CustomerLink | None:
        """The contact's link in ``currency``, else its link made before links had one, else
        its latest (in another currency: the caller says so); None: the latest."""
        ...

    async def put(self, link: CustomerLink) -> None:
        """Replaces the contact's link in the same currency."""
        ...

    async def delete(self, company_id: str, entity: SourceEntity, entity_id: str) -> bool:
        """Every link of the contact."""
        ...


class FollowUpState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    """The note may have been posted (an attempt stopped before it could say): look first."""
    DONE = "done"


@dataclass(frozen=True, slots=True)
class DealFollowUp:
    """What is left to do on the deal once its invoice exists in QuickBooks, recorded in the
    same transaction that confirms the invoice: remember the QuickBooks customer for the deal's
    organization (or person), and add ``note`` to the deal. ``marker`` is text that only this
    invoice's note contains (its QuickBooks link), to recognise a note already posted."""

    company_id: str
    invoice_id: str
    deal_id: str
    note: str
    marker: str
    quickbooks_customer_id: str
    customer_name: str
    requested_by: str | None
    state: FollowUpState
    created_at: datetime
    updated_at: datetime


class DealFollowUpRepository(Protocol):
    async def add(self, follow_up: DealFollowUp) -> None:
        """Record it (nothing happens if the invoice already has one)."""
        ...

    async def get(self, company_id: str, invoice_id: str) -> DealFollowUp | None: ...

    async def mark(
        self, company_id: str, invoice_id: str, state: FollowUpState, now: datetime
    ) -> None: ...

    async def list_unfinished(self, *, older_than: datetime, limit: int) -> list[DealFollowUp]:
        """Follow-ups not done and untouched since before ``older_than`` (any company)."""
        ...


class TimelineEntryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    """The entry may have been posted (an attempt stopped before it could say): look first."""
    DONE = "done"
    SKIPPED = "skipped"
    """Not posted: Pipedrive refused for good (not connected, deal gone, request rejected)."""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One entry the deal's Pipedrive timeline owes: an invoice milestone, recorded in the
    transaction that records the milestone. (company, invoice, key) is its idempotency key: a
    milestone seen again adds nothing. ``content`` is the text as first posted (set when
    SENDING), so a retry posts, and looks for, the very same text."""

    company_id: str
    invoice_id: str
    key: str
    deal_id: str
    milestone: Milestone
    occurred_at: datetime
    details: dict[str, str]
    state: TimelineEntryState
    created_at: datetime
    updated_at: datetime
    content: str = ""
    kind: EntryKind = EntryKind.NOTE  # as the settings said when the milestone was recorded


class DealTimelineRepository(Protocol):
    async def add(self, entries: Sequence[TimelineEntry]) -> None:
        """Record them; an entry whose (company, invoice, key) exists is left as it is."""
        ...

    async def unfinished_for_invoice(self, company_id: str, invoice_id: str) -> list[TimelineEntry]:
        """The invoice's entries still PENDING or SENDING, oldest milestone first."""
        ...

    async def mark(
        self,
        company_id: str,
        invoice_id: str,
        key: str,
        state: TimelineEntryState,
        now: datetime,
        *,
        content: str | None = None,
    ) -> None: ...

    async def list_unfinished(self, *, older_than: datetime, limit: int) -> list[tuple[str, str]]:
        """(company, invoice) of entries not finished and untouched since before
        ``older_than`` (any company), each pair once."""
        ...


@dataclass(frozen=True, slots=True)
class CompanyPurge:
    """A company whose last Pipedrive user uninstalled dealbooks: its data is forgotten once
    ``due_at`` has passed, unless the app is installed again before."""

    company_id: str
    uninstalled_at: datetime
    due_at: datetime


class CompanyPurgeRepository(Protocol):
    async def schedule(self, purge: CompanyPurge) -> CompanyPurge:
        """Record it, unless the company already has one waiting: that one is kept (a repeated
        uninstall never pushes the deletion later) and returned."""
        ...

    async def get_for_update(self, company_id: str) -> CompanyPurge | None:
        """The company's waiting purge, locked until the transaction ends."""
        ...

    async def cancel(self, company_id: str) -> bool:
        """Forget the company's waiting purge (it was installed again); False if none."""
        ...

    async def list_due(self, now: datetime, limit: int) -> list[str]:
        """Companies whose purge is due at ``now``, the longest overdue first."""
        ...

    async def list_waiting(self, limit: int) -> list[str]:
        """Companies with a purge waiting, due or not, the soonest due first."""
        ...


class InstallmentRepository(Protocol):
    """Deals' installment schedules, one row per installment."""

    async def add(self, installments: Sequence[Installment]) -> None: ...

    async def for_deal(self, company_id: str, deal_id: str) -> list[Installment]:
        """The deal's installments, oldest schedule first, each in its order."""
        ...

    async def get(self, company_id: str, schedule_id: str, position: int) -> Installment | None: ...

    async def save(self, installment: Installment) -> None:
        """Store the installment's new state (the schedule and position say which)."""
        ...

    async def due(self, on_or_before: date, limit: int) -> list[Installment]:
        """Scheduled installments of every company due on or before the date, oldest first."""
        ...


class DealFieldRepository(Protocol):
    """The company's deal fields (their Pipedrive keys) and what was last written on each deal."""

    async def keys(self, company_id: str) -> DealFieldKeys | None: ...

    async def set_keys(self, company_id: str, keys: DealFieldKeys, now: datetime) -> None: ...

    async def written(self, company_id: str, deal_id: str) -> DealInvoiceTotals | None:
        """What the last write put in the deal's fields (None: never written)."""
        ...

    async def set_written(
        self, company_id: str, deal_id: str, totals: DealInvoiceTotals, now: datetime
    ) -> None: ...

    async def forget_written(self, company_id: str) -> None:
        """Forget what was written on the company's deals (their fields are new)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the ``async with`` block without ``commit()`` rolls back."""

    settings: SettingsRepository
    invoices: InvoiceRepository
    invoice_events: InvoiceEventRepository
    idempotency: IdempotencyStore
    customer_links: CustomerLinkRepository
    deal_follow_ups: DealFollowUpRepository
    deal_timeline: DealTimelineRepository
    purges: CompanyPurgeRepository
    templates: InvoiceTemplateRepository
    deal_fields: DealFieldRepository
    invoice_rules: InvoiceRuleRepository
    rule_runs: RuleRunRepository
    installments: InstallmentRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def forget_company(self, company_id: str) -> None:
        """Delete everything stored for the company (settings, invoices, history, request ids,
        customer links, deal follow-ups, timeline entries, invoice templates, deal fields,
        invoicing rules and their runs, installments, its sync watermark, its waiting purge): a
        purge leaves nothing behind. Connections are the TokenStore's."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class DatabaseProbe(Protocol):
    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        ...
