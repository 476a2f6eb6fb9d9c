"""Postgres repositories with optimistic concurrency on ``version``: the only writers. The
invoice's own (the invoice, its events, request ids) are in ``invoices``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Insert,
    RowMapping,
    Table,
    Update,
    bindparam,
    delete,
    func,
    literal_column,
    not_,
    update,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from adapters.postgres.mappers import (
    settings_from_row,
    settings_values,
    template_from_row,
    template_values,
)
from adapters.postgres.realms import connected_realm_of, other_company
from adapters.postgres.tables import (
    CompanyPurgeRow,
    CompanySettingsRow,
    CustomerLinkRow,
    DealFieldKeysRow,
    DealFieldValuesRow,
    DealFollowUpRow,
    DealTimelineEntryRow,
    InvoiceTemplateRow,
)
from application.errors import ConcurrencyConflictError
from application.ports.crm import DealFieldKeys, DealInvoiceTotals
from application.ports.persistence import (
    CompanyPurge,
    CustomerLink,
    DealFollowUp,
    FollowUpState,
    TimelineEntry,
    TimelineEntryState,
)
from application.reasons import MetadataKey
from domain.field_mapping import SourceEntity
from domain.invoice_template import InvoiceTemplate
from domain.settings import CompanySettings
from domain.timeline import EntryKind, Milestone

_SETTINGS: Table = CompanySettingsRow.__table__  # type: ignore[attr-defined]
_FOLLOW_UPS: Table = DealFollowUpRow.__table__  # type: ignore[attr-defined]
_LINKS: Table = CustomerLinkRow.__table__  # type: ignore[attr-defined]
_TIMELINE: Table = DealTimelineEntryRow.__table__  # type: ignore[attr-defined]
_UNFINISHED = (TimelineEntryState.PENDING.value, TimelineEntryState.SENDING.value)
_PURGES: Table = CompanyPurgeRow.__table__  # type: ignore[attr-defined]
_TEMPLATES: Table = InvoiceTemplateRow.__table__  # type: ignore[attr-defined]
_FIELD_KEYS: Table = DealFieldKeysRow.__table__  # type: ignore[attr-defined]
_FIELD_VALUES: Table = DealFieldValuesRow.__table__  # type: ignore[attr-defined]

# Parameters are named after the columns they set; WHERE clauses bind ``where_*`` ones.
_GET_SETTINGS = core_select(_SETTINGS).where(_SETTINGS.c.company_id == bindparam("where_company"))

_LINK_KEY = ("company_id", "entity", "entity_id", "currency")
# A link is to a customer of the QuickBooks company connected when it is made, and none is
# made while no company is connected (whose customer it is could not be said: a follow-up
# run between Disconnect and the next Connect). Only the connected company's links (or links
# of no known company, made before migration 0030) are found.
_LINK_VALUES = [c for c in _LINKS.c if c.name != "realm_key"]
_LINK_REALM = connected_realm_of(bindparam("company_id"))
_NEW_LINK = insert(_LINKS).from_select(
    [*(c.name for c in _LINK_VALUES), "realm_key"],
    core_select(
        *(bindparam(c.name, type_=c.type).label(c.name) for c in _LINK_VALUES),
        _LINK_REALM.label("realm_key"),
    ).where(_LINK_REALM.is_not(None)),
)
_PUT_LINK = _NEW_LINK.on_conflict_do_update(
    index_elements=list(_LINK_KEY),
    set_={c.name: _NEW_LINK.excluded[c.name] for c in _LINKS.c if c.name not in _LINK_KEY},
)
_ADD_FOLLOW_UP = (
    insert(_FOLLOW_UPS)
    .values({c.name: bindparam(c.name, type_=c.type) for c in _FOLLOW_UPS.c})
    .on_conflict_do_nothing(index_elements=["company_id", "invoice_id"])
)
# One compiled statement run once per entry: a multi-row VALUES built per call has no cache
# key, so SQLAlchemy compiled it anew every time (~1.4 ms of CPU per created invoice).
_ADD_TIMELINE = (
    insert(_TIMELINE)
    .values({c.name: bindparam(c.name, type_=c.type) for c in _TIMELINE.c})
    .on_conflict_do_nothing(index_elements=["company_id", "invoice_id", "key"])
)


class OnSession:
    """A repository: statements on the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session


class PostgresSettingsRepository(OnSession):
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


class PostgresInvoiceTemplateRepository(OnSession):
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


_LINK_IN_CONNECTED_COMPANY = not_(literal_column(other_company("customer_links"), Boolean))


def _link_is(company_id: str, entity: SourceEntity, entity_id: str) -> list[ColumnElement[bool]]:
    return [
        _LINKS.c.company_id == company_id,
        _LINKS.c.entity == entity,
        _LINKS.c.entity_id == entity_id,
    ]


class PostgresCustomerLinkRepository(OnSession):
    async def get(
        self, company_id: str, entity: SourceEntity, entity_id: str, currency: str | None = None
    ) -> CustomerLink | None:
        order = [_LINKS.c.linked_at.desc()]
        if currency is not None:
            order[:0] = [(_LINKS.c.currency == currency).desc(), (_LINKS.c.currency == "").desc()]
        result = await self._session.execute(
            core_select(*[c for c in _LINKS.c if c.name != "realm_key"])
            .where(*_link_is(company_id, entity, entity_id), _LINK_IN_CONNECTED_COMPANY)
            .order_by(*order)
            .limit(1)
        )
        row = result.mappings().one_or_none()
        return CustomerLink(**{**row, "entity": SourceEntity(row["entity"])}) if row else None

    async def put(self, link: CustomerLink) -> None:
        await self._session.execute(_PUT_LINK, dataclasses.asdict(link))

    async def delete(self, company_id: str, entity: SourceEntity, entity_id: str) -> bool:
        result = await self._session.execute(
            delete(_LINKS).where(
                *_link_is(company_id, entity, entity_id), _LINK_IN_CONNECTED_COMPANY
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _follow_up_from_row(row: RowMapping) -> DealFollowUp:
    return DealFollowUp(**{**row, "state": FollowUpState(row["state"])})


class PostgresDealFollowUpRepository(OnSession):
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
            "kind": EntryKind(row["kind"]),
        }
    )


class PostgresDealTimelineRepository(OnSession):
    async def add(self, entries: Sequence[TimelineEntry]) -> None:
        if not entries:
            return
        rows = [
            dataclasses.asdict(e)
            | {"milestone": e.milestone.value, "state": e.state.value, "kind": e.kind.value}
            for e in entries
        ]
        await self._session.execute(_ADD_TIMELINE, rows)

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


class PostgresDealFieldRepository(OnSession):
    async def keys(self, company_id: str) -> DealFieldKeys | None:
        row = (
            (
                await self._session.execute(
                    core_select(_FIELD_KEYS).where(_FIELD_KEYS.c.company_id == company_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return DealFieldKeys(
            invoiced=row["invoiced"],
            paid=row["paid"],
            balance_due=row["balance_due"],
            invoice_status=row["invoice_status"],
        )

    async def set_keys(self, company_id: str, keys: DealFieldKeys, now: datetime) -> None:
        values = dataclasses.asdict(keys) | {"updated_at": now}
        await self._session.execute(
            insert(_FIELD_KEYS)
            .values(company_id=company_id, **values)
            .on_conflict_do_update(index_elements=["company_id"], set_=values)
        )

    async def written(self, company_id: str, deal_id: str) -> DealInvoiceTotals | None:
        row = (
            (
                await self._session.execute(
                    core_select(_FIELD_VALUES).where(
                        _FIELD_VALUES.c.company_id == company_id,
                        _FIELD_VALUES.c.deal_id == deal_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return DealInvoiceTotals(
            currency=row["currency"],
            invoiced=row["invoiced"].normalize(),
            paid=row["paid"].normalize(),
            balance_due=row["balance_due"].normalize(),
            status=row["status"],
        )

    async def set_written(
        self, company_id: str, deal_id: str, totals: DealInvoiceTotals, now: datetime
    ) -> None:
        values = dataclasses.asdict(totals) | {"updated_at": now}
        await self._session.execute(
            insert(_FIELD_VALUES)
            .values(company_id=company_id, deal_id=deal_id, **values)
            .on_conflict_do_update(index_elements=["company_id", "deal_id"], set_=values)
        )

    async def forget_written(self, company_id: str) -> None:
        await self._session.execute(
            delete(_FIELD_VALUES).where(_FIELD_VALUES.c.company_id == company_id)
        )


class PostgresCompanyPurgeRepository(OnSession):
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
