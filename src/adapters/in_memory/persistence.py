"""In-memory repositories and unit of work with the same transaction semantics as Postgres:
nothing is visible to others before ``commit()``, and a stale write is a conflict."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from application.errors import ConcurrencyConflictError
from application.ports.persistence import (
    CreationOptions,
    CustomerLink,
    DealFollowUp,
    FollowUpState,
    IdempotencyRecord,
    PageCursor,
    RecordedEvent,
)
from domain.field_mapping import SourceEntity
from domain.invoice import Invoice, InvoiceState
from domain.settings import CompanySettings


class InMemoryStore:
    """What the fake database holds; shared by every unit of work of one factory."""

    def __init__(self) -> None:
        self.settings: dict[str, CompanySettings] = {}
        self.invoices: dict[tuple[str, str], Invoice] = {}
        self.events: list[RecordedEvent] = []
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.links: dict[tuple[str, SourceEntity, str], CustomerLink] = {}
        self.creation: dict[tuple[str, str], CreationOptions] = {}
        self.follow_ups: dict[tuple[str, str], DealFollowUp] = {}
        self.event_ids = itertools.count(1)
        self.lock = asyncio.Lock()


def _conflict(what: str) -> ConcurrencyConflictError:
    return ConcurrencyConflictError(
        f"The {what} was changed concurrently; read it again and retry."
    )


class _Staged:
    def __init__(self) -> None:
        self.settings: dict[str, CompanySettings] = {}
        self.deleted_settings: set[str] = set()
        self.invoices: dict[tuple[str, str], tuple[Invoice, int | None]] = {}  # (copy, read ver)
        self.events: list[tuple[Invoice, object, str | None]] = []
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.links: dict[tuple[str, SourceEntity, str], CustomerLink | None] = {}
        self.creation: dict[tuple[str, str], CreationOptions] = {}
        self.follow_ups: dict[tuple[str, str], DealFollowUp] = {}

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]


class InMemorySettingsRepository:
    def __init__(self, store: InMemoryStore, staged: _Staged) -> None:
        self._store, self._staged = store, staged

    async def get(self, company_id: str) -> CompanySettings | None:
        if company_id in self._staged.deleted_settings:
            return None
        return self._staged.settings.get(company_id) or self._store.settings.get(company_id)

    async def delete(self, company_id: str) -> None:
        self._staged.settings.pop(company_id, None)
        self._staged.deleted_settings.add(company_id)

    async def save(self, settings: CompanySettings) -> CompanySettings:
        current = await self.get(settings.company_id)
        current_version = current.version if current else 0
        if settings.version != current_version:
            raise _conflict("settings")
        stored = dataclasses.replace(settings, version=current_version + 1)
        self._staged.settings[settings.company_id] = stored
        self._staged.deleted_settings.discard(settings.company_id)
        return stored


class InMemoryInvoiceRepository:
    def __init__(self, store: InMemoryStore, staged: _Staged) -> None:
        self._store, self._staged = store, staged
        self._read_versions: dict[tuple[str, str], int] = {}

    def _visible(self) -> dict[tuple[str, str], Invoice]:
        merged = dict(self._store.invoices)
        merged.update({k: v for k, (v, _) in self._staged.invoices.items()})
        return merged

    async def get(self, company_id: str, invoice_id: str) -> Invoice | None:
        found = self._visible().get((company_id, invoice_id))
        if found is None:
            return None
        self._read_versions.setdefault((company_id, invoice_id), found.version)
        return copy.deepcopy(found)

    async def get_for_update(self, company_id: str, invoice_id: str) -> Invoice | None:
        return await self.get(company_id, invoice_id)

    async def add(
        self, invoice: Invoice, *, actor: str | None = None, creation: CreationOptions | None = None
    ) -> None:
        key = (invoice.company_id, invoice.id)
        if key in self._visible():
            raise _conflict("invoice")
        self._staged.creation[key] = creation or CreationOptions()
        self._stage(invoice, None, actor)

    async def creation_options(self, company_id: str, invoice_id: str) -> CreationOptions:
        key = (company_id, invoice_id)
        return self._staged.creation.get(key) or self._store.creation.get(key, CreationOptions())

    async def save(self, invoice: Invoice, *, actor: str | None = None) -> None:
        key = (invoice.company_id, invoice.id)
        read = self._read_versions.get(key)
        if read is None:
            raise ValueError("save() needs an invoice read in this unit of work")
        if invoice.version <= read:
            invoice.version = read + 1
        self._stage(invoice, read, actor)
        self._read_versions[key] = invoice.version

    def _stage(self, invoice: Invoice, read_version: int | None, actor: str | None) -> None:
        for event in invoice.pull_events():
            self._staged.events.append((invoice, event, actor))
        key = (invoice.company_id, invoice.id)
        if key in self._staged.invoices:  # saved twice in one unit of work: first read counts
            read_version = self._staged.invoices[key][1]
        self._staged.invoices[key] = (
            copy.deepcopy(invoice),
            read_version,
        )

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, after: PageCursor | None = None
    ) -> list[Invoice]:
        rows = sorted(
            (
                i
                for (c, _), i in self._visible().items()
                if c == company_id and i.deal_id == deal_id
            ),
            key=lambda i: (i.created_at, i.id),
            reverse=True,
        )
        if after is not None:
            rows = [i for i in rows if (i.created_at, i.id) < (after.created_at, after.id)]
        return self._remember(rows[:limit])

    async def find_by_quickbooks_ids(
        self, company_id: str, quickbooks_ids: Sequence[str]
    ) -> list[Invoice]:
        wanted = set(quickbooks_ids)
        found = [
            i
            for (c, _), i in self._visible().items()
            if c == company_id and i.quickbooks_id in wanted
        ]
        return self._remember(found)

    async def list_unsettled(self, company_id: str) -> list[Invoice]:
        unsettled = (InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID)
        return self._remember(
            [i for (c, _), i in self._visible().items() if c == company_id and i.state in unsettled]
        )

    def _remember(self, invoices: list[Invoice]) -> list[Invoice]:
        """Copies the caller may change and save (their read versions noted), as Postgres."""
        for invoice in invoices:
            self._read_versions.setdefault((invoice.company_id, invoice.id), invoice.version)
        return [copy.deepcopy(i) for i in invoices]

    async def list_creating(self, *, older_than: datetime, limit: int) -> list[Invoice]:
        rows = sorted(
            (
                i
                for i in self._visible().values()
                if i.state is InvoiceState.CREATING and i.updated_at < older_than
            ),
            key=lambda i: i.updated_at,
        )
        return self._remember(rows[:limit])


class InMemoryInvoiceQueries:
    """The read model over what the fake database has committed (copies, as Postgres)."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def get(self, company_id: str, invoice_id: str) -> Invoice | None:
        found = self._store.invoices.get((company_id, invoice_id))
        return copy.deepcopy(found) if found is not None else None

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, after: PageCursor | None = None
    ) -> list[Invoice]:
        rows = sorted(
            (
                i
                for (c, _), i in self._store.invoices.items()
                if c == company_id and i.deal_id == deal_id
            ),
            key=lambda i: (i.created_at, i.id),
            reverse=True,
        )
        if after is not None:
            rows = [i for i in rows if (i.created_at, i.id) < (after.created_at, after.id)]
        return [copy.deepcopy(i) for i in rows[:limit]]


class InMemoryInvoiceEventRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, before_id: int | None = None
    ) -> list[RecordedEvent]:
        rows = [
            e
            for e in reversed(self._store.events)
            if e.company_id == company_id
            and e.deal_id == deal_id
            and (before_id is None or e.id < before_id)
        ]
        return rows[:limit]


class InMemoryIdempotencyStore:
    def __init__(self, store: InMemoryStore, staged: _Staged) -> None:
        self._store, self._staged = store, staged

    async def get(self, company_id: str, key: str) -> IdempotencyRecord | None:
        return self._staged.idempotency.get((company_id, key)) or self._store.idempotency.get(
            (company_id, key)
        )

    async def put(self, company_id: str, key: str, record: IdempotencyRecord) -> bool:
        if await self.get(company_id, key) is not None:
            return False
        self._staged.idempotency[(company_id, key)] = record
        return True


class InMemoryCustomerLinkRepository:
    def __init__(self, store: InMemoryStore, staged: _Staged) -> None:
        self._store, self._staged = store, staged

    async def get(
        self, company_id: str, entity: SourceEntity, entity_id: str
    ) -> CustomerLink | None:
        key = (company_id, entity, entity_id)
        if key in self._staged.links:
            return self._staged.links[key]
        return self._store.links.get(key)

    async def put(self, link: CustomerLink) -> None:
        self._staged.links[(link.company_id, link.entity, link.entity_id)] = link

    async def delete(self, company_id: str, entity: SourceEntity, entity_id: str) -> bool:
        existed = await self.get(company_id, entity, entity_id) is not None
        self._staged.links[(company_id, entity, entity_id)] = None
        return existed


class InMemoryDealFollowUpRepository:
    def __init__(self, store: InMemoryStore, staged: _Staged) -> None:
        self._store, self._staged = store, staged

    async def add(self, follow_up: DealFollowUp) -> None:
        key = (follow_up.company_id, follow_up.invoice_id)
        if await self.get(*key) is None:
            self._staged.follow_ups[key] = follow_up

    async def get(self, company_id: str, invoice_id: str) -> DealFollowUp | None:
        key = (company_id, invoice_id)
        return self._staged.follow_ups.get(key) or self._store.follow_ups.get(key)

    async def mark(
        self, company_id: str, invoice_id: str, state: FollowUpState, now: datetime
    ) -> None:
        current = await self.get(company_id, invoice_id)
        if current is not None:
            self._staged.follow_ups[(company_id, invoice_id)] = dataclasses.replace(
                current, state=state, updated_at=now
            )

    async def list_unfinished(self, *, older_than: datetime, limit: int) -> list[DealFollowUp]:
        rows = sorted(
            (
                f
                for f in self._store.follow_ups.values()
                if f.state is not FollowUpState.DONE and f.updated_at < older_than
            ),
            key=lambda f: f.updated_at,
        )
        return rows[:limit]


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._staged = _Staged()
        self.settings = InMemorySettingsRepository(store, self._staged)
        self.invoices = InMemoryInvoiceRepository(store, self._staged)
        self.invoice_events = InMemoryInvoiceEventRepository(store)
        self.idempotency = InMemoryIdempotencyStore(store, self._staged)
        self.customer_links = InMemoryCustomerLinkRepository(store, self._staged)
        self.deal_follow_ups = InMemoryDealFollowUpRepository(store, self._staged)
        self.committed = False

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
        store, staged = self._store, self._staged
        async with store.lock:
            for company_id, settings in staged.settings.items():
                stored = store.settings.get(company_id)
                if (stored.version if stored else 0) != settings.version - 1:
                    raise _conflict("settings")
            for key, (_, read_version) in staged.invoices.items():
                stored_invoice = store.invoices.get(key)
                if read_version is None and stored_invoice is not None:
                    raise _conflict("invoice")
                if read_version is not None and (
                    stored_invoice is None or stored_invoice.version != read_version
                ):
                    raise _conflict("invoice")
            for key in staged.idempotency:
                if key in store.idempotency:
                    raise _conflict("request id")
            for company_id in staged.deleted_settings:
                store.settings.pop(company_id, None)
            store.settings.update(staged.settings)
            store.invoices.update({k: v for k, (v, _) in staged.invoices.items()})
            store.idempotency.update(staged.idempotency)
            store.creation.update(staged.creation)
            store.follow_ups.update(staged.follow_ups)
            for link_key, link in staged.links.items():
                if link is None:
                    store.links.pop(link_key, None)
                else:
                    store.links[link_key] = link
            for invoice, event, actor in staged.events:
                store.events.append(
                    RecordedEvent(
                        id=next(store.event_ids),
                        company_id=invoice.company_id,
                        deal_id=invoice.deal_id,
                        invoice_id=invoice.id,
                        event=event,  # type: ignore[arg-type]
                        actor=actor,
                    )
                )
        staged.clear()
        self.committed = True

    async def rollback(self) -> None:
        self._staged.clear()

    async def forget_company(self, company_id: str) -> None:
        # Applied at once rather than at commit: the fake keeps this one simple.
        store = self._store
        async with store.lock:
            store.settings.pop(company_id, None)
            for key in [k for k in store.invoices if k[0] == company_id]:
                del store.invoices[key]
            store.events[:] = [e for e in store.events if e.company_id != company_id]
            for key in [k for k in store.idempotency if k[0] == company_id]:
                del store.idempotency[key]
            for link_key in [k for k in store.links if k[0] == company_id]:
                del store.links[link_key]
            for key in [k for k in store.creation if k[0] == company_id]:
                del store.creation[key]
            for key in [k for k in store.follow_ups if k[0] == company_id]:
                del store.follow_ups[key]


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)


class InMemoryDatabaseProbe:
    async def ping(self) -> None:
        return None
