"""In-memory repositories and unit of work with the same transaction semantics as Postgres:
nothing is visible to others before ``commit()``, and a stale write is a conflict."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self

from adapters.in_memory.installments import InMemoryInstallmentRepository, InstallmentKey
from adapters.in_memory.rules import InMemoryInvoiceRuleRepository, InMemoryRuleRunRepository
from adapters.in_memory.table import OnTable as _OnTable
from adapters.in_memory.table import Table as _Table
from adapters.in_memory.table import conflict as _conflict
from application.ports.crm import DealFieldKeys, DealInvoiceTotals
from application.ports.persistence import (
    CompanyPurge,
    CreationOptions,
    CustomerLink,
    DealFollowUp,
    FollowUpState,
    IdempotencyRecord,
    PageCursor,
    QuickBooksIdHeldError,
    RecordedEvent,
    TimelineEntry,
    TimelineEntryState,
)
from domain.events import DomainEvent
from domain.field_mapping import SourceEntity
from domain.installment_schedule import Installment
from domain.invoice import Invoice, InvoiceState
from domain.invoice_rule import InvoiceRule, RuleRun
from domain.invoice_state import NOT_LIVE
from domain.invoice_template import InvoiceTemplate
from domain.settings import CompanySettings


class InMemoryStore:
    """What the fake database holds; shared by every unit of work of one factory."""

    def __init__(self) -> None:
        self.settings: dict[str, CompanySettings] = {}
        self.invoices: dict[tuple[str, str], Invoice] = {}
        self.creation: dict[tuple[str, str], CreationOptions] = {}
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.links: dict[tuple[str, SourceEntity, str, str], CustomerLink] = {}
        self.follow_ups: dict[tuple[str, str], DealFollowUp] = {}
        self.timeline: dict[tuple[str, str, str], TimelineEntry] = {}
        self.purges: dict[str, CompanyPurge] = {}
        self.templates: dict[tuple[str, str], InvoiceTemplate] = {}
        self.deal_field_keys: dict[str, DealFieldKeys] = {}
        self.deal_field_values: dict[tuple[str, str], DealInvoiceTotals] = {}
        self.rules: dict[tuple[str, str], InvoiceRule] = {}
        self.rule_runs: dict[tuple[str, str, str], RuleRun] = {}
        self.installments: dict[InstallmentKey, Installment] = {}
        self.events: list[RecordedEvent] = []
        self.event_ids = itertools.count(1)
        self.lock = asyncio.Lock()


def newest_first(
    invoices: Iterable[Invoice], company_id: str, deal_id: str, limit: int, after: PageCursor | None
) -> list[Invoice]:
    rows = sorted(
        (i for i in invoices if i.company_id == company_id and i.deal_id == deal_id),
        key=lambda i: (i.created_at, i.id),
        reverse=True,
    )
    if after is not None:
        rows = [i for i in rows if (i.created_at, i.id) < (after.created_at, after.id)]
    return rows[:limit]


class InMemorySettingsRepository(_OnTable[str, CompanySettings]):
    async def get(self, company_id: str) -> CompanySettings | None:
        return self._table.get(company_id)

    async def delete(self, company_id: str) -> None:
        self._table.put(company_id, None)

    async def save(self, settings: CompanySettings) -> CompanySettings:
        current = self._table.get(settings.company_id)
        if settings.version != (current.version if current else 0):
            raise _conflict("settings")
        stored = dataclasses.replace(settings, version=settings.version + 1)
        self._table.put_if(settings.company_id, stored, settings.version or None)
        return stored


class InMemoryInvoiceTemplateRepository(_OnTable[tuple[str, str], InvoiceTemplate]):
    async def list(self, company_id: str) -> list[InvoiceTemplate]:
        rows = [t for t in self._table.rows() if t.company_id == company_id]
        return sorted(rows, key=lambda t: (t.name.casefold(), t.id))

    async def get(self, company_id: str, template_id: str) -> InvoiceTemplate | None:
        return self._table.get((company_id, template_id))

    async def save(self, template: InvoiceTemplate) -> InvoiceTemplate:
        key = (template.company_id, template.id)
        current = self._table.get(key)
        if template.version != (current.version if current else 0):
            raise _conflict("template")
        others = [t for t in await self.list(template.company_id) if t.id != template.id]
        if any(t.name.casefold() == template.name.casefold() for t in others) or (
            template.is_default and any(t.is_default for t in others)
        ):
            raise _conflict("template")  # as Postgres' unique indexes
        stored = dataclasses.replace(template, version=template.version + 1)
        self._table.put_if(key, stored, template.version or None)
        return stored

    async def delete(self, company_id: str, template_id: str) -> bool:
        if self._table.get((company_id, template_id)) is None:
            return False
        self._table.put((company_id, template_id), None)
        return True


class InMemoryInvoiceRepository:
    def __init__(
        self,
        invoices: _Table[tuple[str, str], Invoice],
        creation: _Table[tuple[str, str], CreationOptions],
        events: list[tuple[Invoice, DomainEvent, str | None, str | None]],
    ) -> None:
        self._invoices, self._creation, self._events = invoices, creation, events
        self._read_versions: dict[tuple[str, str], int] = {}

    def _remember(self, invoices: Iterable[Invoice]) -> list[Invoice]:
        """Copies the caller may change and save (their read versions noted), as Postgres."""
        copies = [copy.deepcopy(i) for i in invoices]
        for invoice in copies:
            self._read_versions.setdefault((invoice.company_id, invoice.id), invoice.version)
        return copies

    def _stage(
        self, invoice: Invoice, actor: str | None, name: str | None, read_version: int | None
    ) -> None:
        self._events.extend((invoice, event, actor, name) for event in invoice.pull_events())
        key = (invoice.company_id, invoice.id)
        self._invoices.put_if(key, copy.deepcopy(invoice), read_version)

    async def get(self, company_id: str, invoice_id: str) -> Invoice | None:
        found = self._invoices.get((company_id, invoice_id))
        return self._remember([found])[0] if found is not None else None

    async def get_for_update(self, company_id: str, invoice_id: str) -> Invoice | None:
        return await self.get(company_id, invoice_id)

    async def add(
        self,
        invoice: Invoice,
        *,
        actor: str | None = None,
        actor_name: str | None = None,
        creation: CreationOptions | None = None,
    ) -> None:
        key = (invoice.company_id, invoice.id)
        if self._invoices.get(key) is not None:
            raise _conflict("invoice")
        self._creation.put(key, creation or CreationOptions())
        self._stage(invoice, actor, actor_name, None)

    async def creation_options(self, company_id: str, invoice_id: str) -> CreationOptions:
        return self._creation.get((company_id, invoice_id)) or CreationOptions()

    async def save(
        self, invoice: Invoice, *, actor: str | None = None, actor_name: str | None = None
    ) -> None:
        key = (invoice.company_id, invoice.id)
        read = self._read_versions.get(key)
        if read is None:
            raise ValueError("save() needs an invoice read in this unit of work")
        if (  # as Postgres' unique index (per QuickBooks company)
            invoice.quickbooks_id is not None and not invoice.other_quickbooks_company
        ) and any(
            i.company_id == invoice.company_id
            and i.id != invoice.id
            and i.quickbooks_id == invoice.quickbooks_id
            and not i.other_quickbooks_company
            for i in self._invoices.rows()
        ):
            raise QuickBooksIdHeldError(invoice.quickbooks_id)
        invoice.version = max(invoice.version, read + 1)
        self._stage(invoice, actor, actor_name, read)
        self._read_versions[key] = invoice.version

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, after: PageCursor | None = None
    ) -> list[Invoice]:
        return self._remember(
            newest_first(self._invoices.rows(), company_id, deal_id, limit, after)
        )

    async def deal_ids(
        self, company_id: str, *, among: Sequence[str] | None = None, live: bool = False
    ) -> list[str]:
        return sorted(
            {
                i.deal_id
                for i in self._invoices.rows()
                if i.company_id == company_id
                and (among is None or i.deal_id in among)
                and not (live and i.state in NOT_LIVE)
            }
        )

    async def find_by_quickbooks_ids(
        self, company_id: str, quickbooks_ids: Sequence[str], *, lock: bool = False
    ) -> list[Invoice]:  # one task at a time: nothing to lock
        return self._remember(
            i
            for i in self._invoices.rows()
            if i.company_id == company_id
            and i.quickbooks_id in quickbooks_ids
            and not i.other_quickbooks_company
        )

    async def set_aside(self, company_id: str, invoice_id: str) -> None:
        key = (company_id, invoice_id)
        found = self._invoices.get(key)
        if found is not None:
            self._invoices.put(key, dataclasses.replace(found, other_quickbooks_company=True))

    async def mark_synced(
        self, company_id: str, quickbooks_ids: Sequence[str], now: datetime
    ) -> None:
        for invoice in await self.find_by_quickbooks_ids(company_id, quickbooks_ids):
            invoice.mark_synced(now)
            self._stage(invoice, None, None, self._read_versions[(invoice.company_id, invoice.id)])

    async def list_unsettled(self, company_id: str) -> list[Invoice]:
        unsettled = (InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID)
        return self._remember(
            i for i in self._invoices.rows() if i.company_id == company_id and i.state in unsettled
        )

    async def companies_with_overdue_unrecorded(self, due_before: date) -> list[str]:
        unsettled = (InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID)
        return sorted(
            {
                i.company_id
                for i in self._invoices.rows()
                if i.state in unsettled
                and i.due_date is not None
                and i.due_date < due_before
                and i.overdue_recorded_for != i.due_date
                and i.balance().is_positive()
            }
        )

    async def list_creating(self, *, older_than: datetime, limit: int) -> list[Invoice]:
        stuck = [
            i
            for i in self._invoices.rows()
            if i.state is InvoiceState.CREATING and i.updated_at < older_than
        ]
        return self._remember(sorted(stuck, key=lambda i: i.updated_at)[:limit])


class InMemoryInvoiceEventRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def list_for_deal(
        self,
        company_id: str,
        deal_id: str,
        *,
        limit: int,
        before_id: int | None = None,
        invoice_id: str | None = None,
    ) -> list[RecordedEvent]:
        rows = [
            e
            for e in reversed(self._store.events)
            if e.company_id == company_id
            and e.deal_id == deal_id
            and (before_id is None or e.id < before_id)
            and (invoice_id is None or e.invoice_id == invoice_id)
        ]
        return rows[:limit]


class InMemoryIdempotencyStore(_OnTable[tuple[str, str], IdempotencyRecord]):
    async def get(self, company_id: str, key: str) -> IdempotencyRecord | None:
        return self._table.get((company_id, key))

    async def put(self, company_id: str, key: str, record: IdempotencyRecord) -> bool:
        if self._table.get((company_id, key)) is not None:
            return False
        self._table.put_if((company_id, key), record, None)
        return True


class InMemoryCustomerLinkRepository(_OnTable[tuple[str, SourceEntity, str, str], CustomerLink]):
    def _of(self, company_id: str, entity: SourceEntity, entity_id: str) -> list[CustomerLink]:
        return [
            link
            for link in self._table.rows()
            if (link.company_id, link.entity, link.entity_id) == (company_id, entity, entity_id)
        ]

    async def get(
        self, company_id: str, entity: SourceEntity, entity_id: str, currency: str | None = None
    ) -> CustomerLink | None:
        links = self._of(company_id, entity, entity_id)
        if currency is None:
            return max(links, key=lambda link: link.linked_at, default=None)
        return max(
            links,
            key=lambda link: (link.currency == currency, link.currency == "", link.linked_at),
            default=None,
        )

    async def put(self, link: CustomerLink) -> None:
        self._table.put((link.company_id, link.entity, link.entity_id, link.currency), link)

    async def delete(self, company_id: str, entity: SourceEntity, entity_id: str) -> bool:
        links = self._of(company_id, entity, entity_id)
        for link in links:
            self._table.put((company_id, entity, entity_id, link.currency), None)
        return bool(links)


class InMemoryDealFollowUpRepository(_OnTable[tuple[str, str], DealFollowUp]):
    async def add(self, follow_up: DealFollowUp) -> None:
        key = (follow_up.company_id, follow_up.invoice_id)
        if self._table.get(key) is None:
            self._table.put(key, follow_up)

    async def get(self, company_id: str, invoice_id: str) -> DealFollowUp | None:
        return self._table.get((company_id, invoice_id))

    async def mark(
        self, company_id: str, invoice_id: str, state: FollowUpState, now: datetime
    ) -> None:
        current = self._table.get((company_id, invoice_id))
        if current is not None:
            marked = dataclasses.replace(current, state=state, updated_at=now)
            self._table.put((company_id, invoice_id), marked)

    async def list_unfinished(self, *, older_than: datetime, limit: int) -> list[DealFollowUp]:
        unfinished = [
            f
            for f in self._table.rows()
            if f.state is not FollowUpState.DONE and f.updated_at < older_than
        ]
        return sorted(unfinished, key=lambda f: f.updated_at)[:limit]


_UNFINISHED = (TimelineEntryState.PENDING, TimelineEntryState.SENDING)


class InMemoryDealTimelineRepository(_OnTable[tuple[str, str, str], TimelineEntry]):
    async def add(self, entries: Sequence[TimelineEntry]) -> None:
        for entry in entries:
            key = (entry.company_id, entry.invoice_id, entry.key)
            if self._table.get(key) is None:
                self._table.put(key, entry)

    async def unfinished_for_invoice(self, company_id: str, invoice_id: str) -> list[TimelineEntry]:
        entries = [
            e
            for e in self._table.rows()
            if (e.company_id, e.invoice_id) == (company_id, invoice_id) and e.state in _UNFINISHED
        ]
        return sorted(entries, key=lambda e: (e.occurred_at, e.key))

    async def mark(
        self,
        company_id: str,
        invoice_id: str,
        key: str,
        state: TimelineEntryState,
        now: datetime,
        *,
        content: str | None = None,
    ) -> None:
        current = self._table.get((company_id, invoice_id, key))
        if current is not None:
            marked = dataclasses.replace(
                current,
                state=state,
                updated_at=now,
                content=current.content if content is None else content,
            )
            self._table.put((company_id, invoice_id, key), marked)

    async def list_unfinished(self, *, older_than: datetime, limit: int) -> list[tuple[str, str]]:
        unfinished = sorted(
            (e for e in self._table.rows() if e.state in _UNFINISHED and e.updated_at < older_than),
            key=lambda e: e.updated_at,
        )
        pairs = dict.fromkeys((e.company_id, e.invoice_id) for e in unfinished)
        return list(pairs)[:limit]


class InMemoryCompanyPurgeRepository(_OnTable[str, CompanyPurge]):
    async def schedule(self, purge: CompanyPurge) -> CompanyPurge:
        waiting = self._table.get(purge.company_id)
        if waiting is not None:
            return waiting
        self._table.put(purge.company_id, purge)
        return purge

    async def get_for_update(self, company_id: str) -> CompanyPurge | None:
        return self._table.get(company_id)

    async def cancel(self, company_id: str) -> bool:
        if self._table.get(company_id) is None:
            return False
        self._table.put(company_id, None)
        return True

    async def list_due(self, now: datetime, limit: int) -> list[str]:
        due = sorted((p.due_at, p.company_id) for p in self._table.rows() if p.due_at <= now)
        return [company_id for _, company_id in due][:limit]

    async def list_waiting(self, limit: int) -> list[str]:
        waiting = sorted((p.due_at, p.company_id) for p in self._table.rows())
        return [company_id for _, company_id in waiting][:limit]


class InMemoryDealFieldRepository:
    def __init__(
        self,
        keys: _Table[str, DealFieldKeys],
        values: _Table[tuple[str, str], DealInvoiceTotals],
    ) -> None:
        self._keys = keys
        self._values = values

    async def keys(self, company_id: str) -> DealFieldKeys | None:
        return self._keys.get(company_id)

    async def set_keys(self, company_id: str, keys: DealFieldKeys, now: datetime) -> None:
        self._keys.put(company_id, keys)

    async def written(self, company_id: str, deal_id: str) -> DealInvoiceTotals | None:
        return self._values.get((company_id, deal_id))

    async def set_written(
        self, company_id: str, deal_id: str, totals: DealInvoiceTotals, now: datetime
    ) -> None:
        self._values.put((company_id, deal_id), totals)

    async def forget_written(self, company_id: str) -> None:
        for key, _ in self._values.items():
            if key[0] == company_id:
                self._values.put(key, None)


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._events: list[tuple[Invoice, DomainEvent, str | None, str | None]] = []
        settings = _Table("settings", store.settings)
        invoices = _Table("invoice", store.invoices)
        creation = _Table("invoice", store.creation)
        idempotency = _Table("request id", store.idempotency)
        links = _Table("customer link", store.links)
        follow_ups = _Table("follow-up", store.follow_ups)
        timeline = _Table("timeline entry", store.timeline)
        purges = _Table("purge", store.purges)
        templates = _Table("template", store.templates)
        field_keys = _Table("deal fields", store.deal_field_keys)
        field_values = _Table("deal field values", store.deal_field_values)
        rules = _Table("rule", store.rules)
        rule_runs = _Table("rule run", store.rule_runs)
        installments = _Table("installment", store.installments)
        self._tables = (
            settings,
            invoices,
            creation,
            idempotency,
            links,
            follow_ups,
            timeline,
            purges,
            templates,
            field_keys,
            field_values,
            rules,
            rule_runs,
            installments,
        )
        self.settings = InMemorySettingsRepository(settings)
        self.invoices = InMemoryInvoiceRepository(invoices, creation, self._events)
        self.invoice_events = InMemoryInvoiceEventRepository(store)
        self.idempotency = InMemoryIdempotencyStore(idempotency)
        self.customer_links = InMemoryCustomerLinkRepository(links)
        self.deal_follow_ups = InMemoryDealFollowUpRepository(follow_ups)
        self.deal_timeline = InMemoryDealTimelineRepository(timeline)
        self.purges = InMemoryCompanyPurgeRepository(purges)
        self.templates = InMemoryInvoiceTemplateRepository(templates)
        self.deal_fields = InMemoryDealFieldRepository(field_keys, field_values)
        self.invoice_rules = InMemoryInvoiceRuleRepository(rules)
        self.rule_runs = InMemoryRuleRunRepository(rule_runs)
        self.installments = InMemoryInstallmentRepository(installments)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        store = self._store
        async with store.lock:
            for table in self._tables:
                table.check()
            for table in self._tables:
                table.apply()
            for invoice, event, actor, actor_name in self._events:
                store.events.append(
                    RecordedEvent(
                        id=next(store.event_ids),
                        company_id=invoice.company_id,
                        deal_id=invoice.deal_id,
                        invoice_id=invoice.id,
                        event=event,
                        actor=actor,
                        actor_name=actor_name,
                    )
                )
        self._events.clear()

    async def rollback(self) -> None:
        for table in self._tables:
            table.clear()
        self._events.clear()

    async def forget_company(self, company_id: str) -> None:
        # Applied at once rather than at commit: the fake keeps this one simple.
        store = self._store
        async with store.lock:
            store.settings.pop(company_id, None)
            store.purges.pop(company_id, None)
            store.deal_field_keys.pop(company_id, None)
            keyed: tuple[dict[Any, Any], ...] = (
                store.invoices,
                store.creation,
                store.idempotency,
                store.links,
                store.follow_ups,
                store.timeline,
                store.templates,
                store.deal_field_values,
                store.rules,
                store.rule_runs,
                store.installments,
            )
            for table in keyed:
                for key in [k for k in table if k[0] == company_id]:
                    del table[key]
            store.events[:] = [e for e in store.events if e.company_id != company_id]


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)
