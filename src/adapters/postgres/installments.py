"""PostgresInstallmentRepository: deals' installment schedules, one row per installment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import RowMapping, Table, bindparam
from sqlalchemy import select as core_select
from sqlalchemy import update as core_update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.postgres.tables import DealInstallmentRow
from domain.installment_schedule import Installment, InstallmentState
from domain.money import Money

_INSTALLMENTS: Table = DealInstallmentRow.__table__  # type: ignore[attr-defined]
_ADD = (
    insert(_INSTALLMENTS)
    .values({c.name: bindparam(c.name, type_=c.type) for c in _INSTALLMENTS.c})
    .on_conflict_do_nothing()
)
_ORDER = (_INSTALLMENTS.c.created_at, _INSTALLMENTS.c.schedule_id, _INSTALLMENTS.c.position)


def _values(installment: Installment) -> dict[str, Any]:
    return {
        "company_id": installment.company_id,
        "schedule_id": installment.schedule_id,
        "position": installment.position,
        "deal_id": installment.deal_id,
        "count": installment.count,
        "percentage": installment.percentage,
        "amount": installment.amount.amount,
        "currency": installment.amount.currency,
        "due_on": installment.due_on,
        "created_at": installment.created_at,
        "state": installment.state.value,
        "invoice_id": installment.invoice_id,
        "reason": installment.reason,
        "attempt": installment.attempt,
    }


def _installment(row: RowMapping) -> Installment:
    return Installment(
        company_id=row["company_id"],
        deal_id=row["deal_id"],
        schedule_id=row["schedule_id"],
        position=row["position"],
        count=row["count"],
        percentage=row["percentage"].normalize(),
        amount=Money(row["amount"], row["currency"]).rounded(),
        due_on=row["due_on"],
        created_at=row["created_at"],
        state=InstallmentState(row["state"]),
        invoice_id=row["invoice_id"],
        reason=row["reason"],
        attempt=row["attempt"],
    )


class PostgresInstallmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, installments: Sequence[Installment]) -> None:
        if installments:
            await self._session.execute(_ADD, [_values(i) for i in installments])

    async def for_deal(self, company_id: str, deal_id: str) -> list[Installment]:
        query = (
            core_select(_INSTALLMENTS)
            .where(_INSTALLMENTS.c.company_id == company_id, _INSTALLMENTS.c.deal_id == deal_id)
            .order_by(*_ORDER)
        )
        return [_installment(row) for row in (await self._session.execute(query)).mappings()]

    async def get(self, company_id: str, schedule_id: str, position: int) -> Installment | None:
        query = core_select(_INSTALLMENTS).where(
            _INSTALLMENTS.c.company_id == company_id,
            _INSTALLMENTS.c.schedule_id == schedule_id,
            _INSTALLMENTS.c.position == position,
        )
        row = (await self._session.execute(query)).mappings().first()
        return _installment(row) if row is not None else None

    async def save(self, installment: Installment) -> None:
        await self._session.execute(
            core_update(_INSTALLMENTS)
            .where(
                _INSTALLMENTS.c.company_id == installment.company_id,
                _INSTALLMENTS.c.schedule_id == installment.schedule_id,
                _INSTALLMENTS.c.position == installment.position,
            )
            .values(
                state=installment.state.value,
                invoice_id=installment.invoice_id,
                reason=installment.reason,
                attempt=installment.attempt,
            )
        )

    async def due(self, on_or_before: date, limit: int) -> list[Installment]:
        query = (
            core_select(_INSTALLMENTS)
            .where(
                _INSTALLMENTS.c.state == InstallmentState.SCHEDULED.value,
                _INSTALLMENTS.c.due_on <= on_or_before,
            )
            .order_by(_INSTALLMENTS.c.due_on, *_ORDER)
            .limit(limit)
        )
        return [_installment(row) for row in (await self._session.execute(query)).mappings()]
