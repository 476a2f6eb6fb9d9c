"""Postgres repositories with optimistic concurrency on ``version``: the only writers.

Statements on the invoice path are built once, at import (SQLAlchemy Core, bound parameters)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Insert,
    Integer,
    RowMapping,
    Select,
    String,
    Table,
    Update,
    bindparam,
    column,
    delete,
    func,
    literal,
    literal_column,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from adapters.postgres.deal_changes import DEAL_CHANGES
from adapters.postgres.mappers import (
    creation_from_json,
    event_from_row,
    event_payload,
    invoice_from_row,
    invoice_values,
    settings_from_row,
    settings_values,
    template_from_row,
    template_values,
)
from adapters.postgres.tables import (
    CompanyPurgeRow,
    CompanySettingsRow,
    CustomerLinkRow,
    DealFollowUpRow,
    DealTimelineEntryRow,
    IdempotencyKeyRow,
    InvoiceEventRow,
    InvoiceRow,
    InvoiceTemplateRow,
)
from application.errors import ConcurrencyConflictError
from application.ports.persistence import (
    CompanyPurge,
    CreationOptions,
    CustomerLink,
    DealFollowUp,
    FollowUpState,
    IdempotencyRecord,
    PageCursor,
    RecordedEvent,
    TimelineEntry,
    TimelineEntryState,
)
from application.reasons import MetadataKey
from domain.field_mapping import SourceEntity
from domain.invoice import Invoice, InvoiceState
from domain.invoice_template import InvoiceTemplate
from domain.settings import CompanySettings
from domain.timeline import Milestone

_INVOICES: Table = InvoiceRow.__table__  # type: ignore[attr-defined]
_EVENTS: Table = InvoiceEventRow.__table__  # type: ignore[attr-defined]
_REQUEST_IDS: Table = IdempotencyKeyRow.__table__  # type: ignore[attr-defined]
_SETTINGS: Table = CompanySettingsRow.__table__  # type: ignore[attr-defined]
_FOLLOW_UPS: Table = DealFollowUpRow.__table__  # type: ignore[attr-defined]
_INVOICE_COLUMNS = [c for c in _INVOICES.c if c.name != "creation"]
_LINKS: Table = CustomerLinkRow.__table__  # type: ignore[attr-defined]
_TIMELINE: Table = DealTimelineEntryRow.__table__  # type: ignore[attr-defined]
_UNFINISHED = (TimelineEntryState.PENDING.value, TimelineEntryState.SENDING.value)
_PURGES: Table = CompanyPurgeRow.__table__  # type: ignore[attr-defined]
_TEMPLATES: Table = InvoiceTemplateRow.__table__  # type: ignore[attr-defined]

# Parameters are named after the columns they set; WHERE clauses bind ``where_*`` ones.
_GET_SETTINGS = core_select(_SETTINGS).where(_SETTINGS.c.company_id == bindparam("where_company"))
_GET_INVOICE = core_select(*_INVOICE_COLUMNS).where(
    _INVOICES.c.company_id == bindparam("where_company"),
    _INVOICES.c.id == bindparam("where_id"),
)
_GET_INVOICE_FOR_UPDATE = _GET_INVOICE.with_for_update()


def _with_events(write: Insert | Update) -> Select[int]:
    """``write`` (of one invoice row) and the invoice's new events, in one statement: the
    events (the ``events`` parameter, a JSON array numbered in the order they happened) are inserted
    only if the row was written, and the statement answers how many rows were (0 or 1).

    A written row also notifies ``DEAL_CHANGES`` with "company/deal": Postgres delivers it at
    commit (never for a rolled-back write) to every process listening, which tells the deal's
    open panels (``adapters.postgres.deal_changes``)."""
    written = write.returning(_INVOICES.c.company_id, _INVOICES.c.deal_id, _INVOICES.c.id).cte(
        "written"
    )
    events = (
        func.jsonb_to_recordset(bindparam("events", type_=JSONB))
        .table_valued(
            column("kind", String),
            column("occurred_at", DateTime(timezone=True)),
            column("payload", JSONB),
            column("n", Integer),
        )
        .render_derived(with_types=True)
    )
    add_events = insert(_EVENTS).from_select(
        [
            "company_id",
            "deal_id",
            "invoice_id",
            "kind",
            "occurred_at",
            "actor",
            "payload",
            "actor_name",
        ],
        core_select(
            written.c.company_id,
            written.c.deal_id,
            written.c.id,
            events.c.kind,
            events.c.occurred_at,
            bindparam("actor", type_=String),
            events.c.payload,
            bindparam("actor_name", type_=String),
        )
        .select_from(written.join(events, true()))
        .order_by(events.c.n),
    )
    notify = (
        func.pg_notify(
            literal_column(f"'{DEAL_CHANGES}'"),
            written.c.company_id.concat("/").concat(written.c.deal_id),
        )
        .table_valued()
        .lateral("notified")
    )
    return (
        core_select(func.count())
        .select_from(written.join(notify, true()))
        .add_cte(add_events.cte("events"))
    )


_ADD_INVOICE = _with_events(
    insert(_INVOICES).values({c.name: bindparam(c.name, type_=c.type) for c in _INVOICES.c})
)
_SAVE_INVOICE = _with_events(
    update(_INVOICES)
    .where(
        _INVOICES.c.company_id == bindparam("where_company"),
        _INVOICES.c.id == bindparam("where_id"),
        _INVOICES.c.version == bindparam("where_version"),
    )
    .values({c.name: bindparam(c.name, type_=c.type) for c in _INVOICE_COLUMNS})
)
_GET_REQUEST_ID = core_select(_REQUEST_IDS.c.request_hash, _REQUEST_IDS.c.resource_id).where(
    _REQUEST_IDS.c.company_id == bindparam("where_company"),
    _REQUEST_IDS.c.key == bindparam("where_key"),
)
_PUT_REQUEST_ID = (
    insert(_REQUEST_IDS)
    .values(
        {c.name: bindparam(c.name, type_=c.type) for c in _REQUEST_IDS.c}
        | {"created_at": func.now()}
    )
    .on_conflict_do_nothing(index_elements=["company_id", "key"])
)
_LINK_KEY = ("company_id", "entity", "entity_id", "currency")
_NEW_LINK = insert(_LINKS).values({c.name: bindparam(c.name, type_=c.type) for c in _LINKS.c})
_PUT_LINK = _NEW_LINK.on_conflict_do_update(
    index_elements=list(_LINK_KEY),
    set_={c.name: _NEW_LINK.excluded[c.name] for c in _LINKS.c if c.name not in _LINK_KEY},
)
_ADD_FOLLOW_UP = (
    insert(_FOLLOW_UPS)
    .values({c.name: bindparam(c.name, type_=c.type) for c in _FOLLOW_UPS.c})
    .on_conflict_do_nothing(index_elements=["company_id", "invoice_id"])
)


def _events(invoice: Invoice) -> list[dict[str, Any]]:
    """The events the invoice has not handed out yet, as ``_with_events`` takes them."""
    return [
        {
            "kind": event.kind,
            "occurred_at": event.occurred_at.isoformat(),
            "payload": event_payload(event),
            "n": n,
        }
        for n, event in enumerate(invoice.pull_events())
    ]


class _OnSession:
    """A repository: statements on the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session


class PostgresSettingsRepository(_OnSession):
    async def get(self, company_id: str) -> CompanySettings | None:
        result = await self._session.execute(_GET_SETTINGS, {"where_company": company_id})
        row = result.mappings().one_or_none()
        return settings_from_row(row) if row else None

    async def save(self, settings: CompanySettings) -> CompanySettings:
        stored = dataclasses.replace(settings, version=settings.version + 1)
        values = settings_values(stored)
        stmt: Insert | Update
        if settings.version == 0:
            stmt = (
                insert(CompanySettingsRow)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["company_id"])
            )
        else:
            stmt = (
                update(CompanySettingsRow)
                .where(
                    col(CompanySettingsRow.company_id) == settings.company_id,
                    col(CompanySettingsRow.version) == settings.version,
                )
                .values(**values)
            )
        result = await self._session.execute(stmt)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrencyConflictError(
                "The settings were changed by someone else at the same time; reload and retry.",
                metadata={MetadataKey.COMPANY: settings.company_id},
            )
        return stored

    async def delete(self, company_id: str) -> None:
        await self._session.execute(
            delete(CompanySettingsRow).where(col(CompanySettingsRow.company_id) == company_id)
        )


class PostgresInvoiceTemplateRepository(_OnSession):
    async def list(self, company_id: str) -> list[InvoiceTemplate]:
        result = await self._session.execute(
            core_select(_TEMPLATES)
            .where(_TEMPLATES.c.company_id == company_id)
            .order_by(func.lower(_TEMPLATES.c.name), _TEMPLATES.c.id)
        )
        return [template_from_row(row) for row in result.mappings()]

    async def get(self, company_id: str, template_id: str) -> InvoiceTemplate | None:
        result = await self._session.execute(
            core_select(_TEMPLATES).where(
                _TEMPLATES.c.company_id == company_id, _TEMPLATES.c.id == template_id
            )
        )
        row = result.mappings().one_or_none()
        return template_from_row(row) if row else None

    async def save(self, template: InvoiceTemplate) -> InvoiceTemplate:
        stored = dataclasses.replace(template, version=template.version + 1)
        values = template_values(stored)
        stmt: Insert | Update
        if template.version == 0:
            stmt = insert(_TEMPLATES).values(**values).on_conflict_do_nothing()
        else:
            stmt = (
                update(_TEMPLATES)
                .where(
                    _TEMPLATES.c.company_id == template.company_id,
                    _TEMPLATES.c.id == template.id,
                    _TEMPLATES.c.version == template.version,
                )
                .values(**values)
            )
        # A name or default taken meanwhile by another transaction: its unique index says so
        # (ON CONFLICT DO NOTHING covers every unique index, so an insert then changes no row).
        try:
            async with self._session.begin_nested():  # a refused write leaves the rest intact
                result = await self._session.execute(stmt)
        except IntegrityError:
            result = None
        if result is None or result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrencyConflictError(
                "The templates were changed by someone else at the same time; reload and retry.",
                metadata={MetadataKey.COMPANY: template.company_id},
            )
        return stored

    async def delete(self, company_id: str, template_id: str) -> bool:
        result = await self._session.execute(
            delete(_TEMPLATES).where(
                _TEMPLATES.c.company_id == company_id, _TEMPLATES.c.id == template_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class PostgresInvoiceRepository(_OnSession):
    """Invoices with optimistic locking on ``version``; events are written with the invoice.
    Every write also writes the row's read-side columns (``invoice_values``)."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._read_versions: dict[str, int] = {}

    async def _read(
        self, statement: Select[Any], params: dict[str, str] | None = None
    ) -> list[Invoice]:
        """The invoices ``statement`` selects, their read versions noted for ``save``."""
        rows = (await self._session.execute(statement, params)).mappings().all()
        for row in rows:
            self._read_versions.setdefault(row["id"], row["version"])
        return [invoice_from_row(row) for row in rows]

    async def get(self, company_id: str, invoice_id: str) -> Invoice | None:
        return await self._get(company_id, invoice_id, lock=False)

    async def get_for_update(self, company_id: str, invoice_id: str) -> Invoice | None:
        return await self._get(company_id, invoice_id, lock=True)

    async def _get(self, company_id: str, invoice_id: str, *, lock: bool) -> Invoice | None:
        stmt = _GET_INVOICE_FOR_UPDATE if lock else _GET_INVOICE
        found = await self._read(stmt, {"where_company": company_id, "where_id": invoice_id})
        return found[0] if found else None

    async def add(
        self,
        invoice: Invoice,
        *,
        actor: str | None = None,
        actor_name: str | None = None,
        creation: CreationOptions | None = None,
    ) -> None:
        values = invoice_values(invoice)
        values.update(
            creation=dataclasses.asdict(creation or CreationOptions()),
            events=_events(invoice),
            actor=actor,
            actor_name=actor_name,
        )
        await self._session.execute(_ADD_INVOICE, values)
        self._read_versions[invoice.id] = invoice.version

    async def save(
        self, invoice: Invoice, *, actor: str | None = None, actor_name: str | None = None
    ) -> None:
        read = self._read_versions.get(invoice.id)
        if read is None:
            raise ValueError("save() needs an invoice read in this unit of work")
        invoice.version = max(invoice.version, read + 1)
        values = invoice_values(invoice)
        values.update(
            where_company=invoice.company_id,
            where_id=invoice.id,
            where_version=read,
            events=_events(invoice),
            actor=actor,
            actor_name=actor_name,
        )
        if (await self._session.execute(_SAVE_INVOICE, values)).scalar_one() != 1:
            raise ConcurrencyConflictError(
                "The invoice was changed by someone else at the same time; read it again.",
                metadata={MetadataKey.INVOICE: invoice.id},
            )
        self._read_versions[invoice.id] = invoice.version

    async def creation_options(self, company_id: str, invoice_id: str) -> CreationOptions:
        result = await self._session.execute(
            core_select(_INVOICES.c.creation).where(
                _INVOICES.c.company_id == company_id, _INVOICES.c.id == invoice_id
            )
        )
        data = result.scalar_one_or_none()
        return creation_from_json(data or {})

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, after: PageCursor | None = None
    ) -> list[Invoice]:
        stmt = core_select(*_INVOICE_COLUMNS).where(
            _INVOICES.c.company_id == company_id, _INVOICES.c.deal_id == deal_id
        )
        if after is not None:
            stmt = stmt.where(
                tuple_(_INVOICES.c.created_at, _INVOICES.c.id)
                < tuple_(literal(after.created_at), literal(after.id))
            )
        return await self._read(
            stmt.order_by(_INVOICES.c.created_at.desc(), _INVOICES.c.id.desc()).limit(limit)
        )

    async def find_by_quickbooks_ids(
        self, company_id: str, quickbooks_ids: Sequence[str]
    ) -> list[Invoice]:
        if not quickbooks_ids:
            return []
        return await self._read(
            core_select(*_INVOICE_COLUMNS).where(
                _INVOICES.c.company_id == company_id,
                _INVOICES.c.quickbooks_id.in_(list(quickbooks_ids)),
            )
        )

    async def mark_synced(
        self, company_id: str, quickbooks_ids: Sequence[str], now: datetime
    ) -> None:
        if quickbooks_ids:
            await self._session.execute(
                update(_INVOICES)
                .where(
                    _INVOICES.c.company_id == company_id,
                    _INVOICES.c.quickbooks_id.in_(list(quickbooks_ids)),
                )
                .values(last_synced_at=now)
            )

    async def list_unsettled(self, company_id: str) -> list[Invoice]:
        return await self._read(
            core_select(*_INVOICE_COLUMNS).where(
                _INVOICES.c.company_id == company_id,
                _INVOICES.c.state.in_([InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID]),
            )
        )

    async def companies_with_overdue_unrecorded(self, due_before: date) -> list[str]:
        # The partial index ix_invoices_overdue_unrecorded (migration 0021) holds exactly these
        # rows. Its predicate is written out literally: with the states as bound parameters a
        # prepared (generic) plan could not use the index.
        result = await self._session.execute(
            core_select(_INVOICES.c.company_id)
            .where(
                text(
                    "state IN ('open', 'partially_paid') "
                    "AND overdue_recorded_for IS DISTINCT FROM due_date"
                ),
                _INVOICES.c.due_date < due_before,
                _INVOICES.c.balance > 0,
            )
            .distinct()
        )
        return sorted(result.scalars().all())

    async def list_creating(self, *, older_than: datetime, limit: int) -> list[Invoice]:
        return await self._read(
            core_select(*_INVOICE_COLUMNS)
            .where(_INVOICES.c.state == InvoiceState.CREATING, _INVOICES.c.updated_at < older_than)
            .order_by(_INVOICES.c.updated_at)
            .limit(limit)
        )


class PostgresInvoiceEventRepository(_OnSession):
    async def list_for_deal(
        self,
        company_id: str,
        deal_id: str,
        *,
        limit: int,
        before_id: int | None = None,
        invoice_id: str | None = None,
    ) -> list[RecordedEvent]:
        stmt = select(InvoiceEventRow).where(
            col(InvoiceEventRow.company_id) == company_id, col(InvoiceEventRow.deal_id) == deal_id
        )
        if before_id is not None:
            stmt = stmt.where(col(InvoiceEventRow.id) < before_id)
        if invoice_id is not None:  # a deal has few events: ix_invoice_events_deal serves it
            stmt = stmt.where(col(InvoiceEventRow.invoice_id) == invoice_id)
        stmt = stmt.order_by(col(InvoiceEventRow.id).desc()).limit(limit)
        rows = (await self._session.execute(stmt)).scalars().all()
        return [
            RecordedEvent(
                id=row.id or 0,
                company_id=row.company_id,
                deal_id=row.deal_id,
                invoice_id=row.invoice_id,
                event=event_from_row(row),
                actor=row.actor,
                actor_name=row.actor_name,
            )
            for row in rows
        ]


class PostgresIdempotencyStore(_OnSession):
    async def get(self, company_id: str, key: str) -> IdempotencyRecord | None:
        result = await self._session.execute(
            _GET_REQUEST_ID, {"where_company": company_id, "where_key": key}
        )
        row = result.one_or_none()
        return IdempotencyRecord(row.request_hash, row.resource_id) if row else None

    async def put(self, company_id: str, key: str, record: IdempotencyRecord) -> bool:
        result = await self._session.execute(
            _PUT_REQUEST_ID, {"company_id": company_id, "key": key, **dataclasses.asdict(record)}
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _link_is(company_id: str, entity: SourceEntity, entity_id: str) -> list[ColumnElement[bool]]:
    return [
        _LINKS.c.company_id == company_id,
        _LINKS.c.entity == entity,
        _LINKS.c.entity_id == entity_id,
    ]


class PostgresCustomerLinkRepository(_OnSession):
    async def get(
        self, company_id: str, entity: SourceEntity, entity_id: str, currency: str | None = None
    ) -> CustomerLink | None:
        order = [_LINKS.c.linked_at.desc()]
        if currency is not None:
            order[:0] = [(_LINKS.c.currency == currency).desc(), (_LINKS.c.currency == "").desc()]
        result = await self._session.execute(
            core_select(_LINKS)
            .where(*_link_is(company_id, entity, entity_id))
            .order_by(*order)
            .limit(1)
        )
        row = result.mappings().one_or_none()
        return CustomerLink(**{**row, "entity": SourceEntity(row["entity"])}) if row else None

    async def put(self, link: CustomerLink) -> None:
        await self._session.execute(_PUT_LINK, dataclasses.asdict(link))

    async def delete(self, company_id: str, entity: SourceEntity, entity_id: str) -> bool:
        result = await self._session.execute(
            delete(_LINKS).where(*_link_is(company_id, entity, entity_id))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _follow_up_from_row(row: RowMapping) -> DealFollowUp:
    return DealFollowUp(**{**row, "state": FollowUpState(row["state"])})


class PostgresDealFollowUpRepository(_OnSession):
    async def add(self, follow_up: DealFollowUp) -> None:
        await self._session.execute(_ADD_FOLLOW_UP, dataclasses.asdict(follow_up))

    async def get(self, company_id: str, invoice_id: str) -> DealFollowUp | None:
        result = await self._session.execute(
            core_select(_FOLLOW_UPS).where(
                _FOLLOW_UPS.c.company_id == company_id, _FOLLOW_UPS.c.invoice_id == invoice_id
            )
        )
        row = result.mappings().one_or_none()
        return _follow_up_from_row(row) if row else None

    async def mark(
        self, company_id: str, invoice_id: str, state: FollowUpState, now: datetime
    ) -> None:
        await self._session.execute(
            update(_FOLLOW_UPS)
            .where(_FOLLOW_UPS.c.company_id == company_id, _FOLLOW_UPS.c.invoice_id == invoice_id)
            .values(state=state, updated_at=now)
        )

    async def list_unfinished(self, *, older_than: datetime, limit: int) -> list[DealFollowUp]:
        result = await self._session.execute(
            core_select(_FOLLOW_UPS)
            .where(
                _FOLLOW_UPS.c.state != FollowUpState.DONE,
                _FOLLOW_UPS.c.updated_at < older_than,
            )
            .order_by(_FOLLOW_UPS.c.updated_at)
            .limit(limit)
        )
        return [_follow_up_from_row(row) for row in result.mappings()]


def _entry_from_row(row: RowMapping) -> TimelineEntry:
    return TimelineEntry(
        **{
            **row,
            "milestone": Milestone(row["milestone"]),
            "state": TimelineEntryState(row["state"]),
        }
    )


class PostgresDealTimelineRepository(_OnSession):
    async def add(self, entries: Sequence[TimelineEntry]) -> None:
        if not entries:
            return
        rows = [
            dataclasses.asdict(e) | {"milestone": e.milestone.value, "state": e.state.value}
            for e in entries
        ]
        await self._session.execute(
            insert(_TIMELINE)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["company_id", "invoice_id", "key"])
        )

    async def unfinished_for_invoice(self, company_id: str, invoice_id: str) -> list[TimelineEntry]:
        result = await self._session.execute(
            core_select(_TIMELINE)
            .where(
                _TIMELINE.c.company_id == company_id,
                _TIMELINE.c.invoice_id == invoice_id,
                _TIMELINE.c.state.in_(_UNFINISHED),
            )
            .order_by(_TIMELINE.c.occurred_at, _TIMELINE.c.key)
        )
        return [_entry_from_row(row) for row in result.mappings()]

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
        values: dict[str, Any] = {"state": state.value, "updated_at": now}
        if content is not None:
            values["content"] = content
        await self._session.execute(
            update(_TIMELINE)
            .where(
                _TIMELINE.c.company_id == company_id,
                _TIMELINE.c.invoice_id == invoice_id,
                _TIMELINE.c.key == key,
            )
            .values(**values)
        )

    async def list_unfinished(self, *, older_than: datetime, limit: int) -> list[tuple[str, str]]:
        result = await self._session.execute(
            core_select(_TIMELINE.c.company_id, _TIMELINE.c.invoice_id)
            .where(_TIMELINE.c.state.in_(_UNFINISHED), _TIMELINE.c.updated_at < older_than)
            .group_by(_TIMELINE.c.company_id, _TIMELINE.c.invoice_id)
            .order_by(func.min(_TIMELINE.c.updated_at))
            .limit(limit)
        )
        return [(row.company_id, row.invoice_id) for row in result]


class PostgresCompanyPurgeRepository(_OnSession):
    async def schedule(self, purge: CompanyPurge) -> CompanyPurge:
        await self._session.execute(
            insert(_PURGES)
            .values(dataclasses.asdict(purge))
            .on_conflict_do_nothing(index_elements=["company_id"])
        )
        waiting = await self._find(purge.company_id, lock=False)
        return waiting or purge

    async def get_for_update(self, company_id: str) -> CompanyPurge | None:
        return await self._find(company_id, lock=True)

    async def _find(self, company_id: str, *, lock: bool) -> CompanyPurge | None:
        query = core_select(_PURGES).where(_PURGES.c.company_id == company_id)
        result = await self._session.execute(query.with_for_update() if lock else query)
        row = result.mappings().one_or_none()
        return CompanyPurge(**row) if row else None

    async def cancel(self, company_id: str) -> bool:
        result = await self._session.execute(
            delete(_PURGES).where(_PURGES.c.company_id == company_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def list_due(self, now: datetime, limit: int) -> list[str]:
        result = await self._session.execute(
            core_select(_PURGES.c.company_id)
            .where(_PURGES.c.due_at <= now)
            .order_by(_PURGES.c.due_at, _PURGES.c.company_id)
            .limit(limit)
        )
        return [str(company_id) for company_id in result.scalars()]

    async def list_waiting(self, limit: int) -> list[str]:
        result = await self._session.execute(
            core_select(_PURGES.c.company_id)
            .order_by(_PURGES.c.due_at, _PURGES.c.company_id)
            .limit(limit)
        )
        return [str(company_id) for company_id in result.scalars()]
