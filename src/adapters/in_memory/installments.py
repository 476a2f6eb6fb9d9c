"""The in-memory installment schedules (a table of the fake database)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from domain.installment_schedule import Installment, InstallmentState

InstallmentKey = tuple[str, str, int]  # company, schedule, position


class _Rows(Protocol):
    def get(self, key: InstallmentKey) -> Installment | None: ...

    def rows(self) -> list[Installment]: ...

    def put(self, key: InstallmentKey, row: Installment | None) -> None: ...


def _key(installment: Installment) -> InstallmentKey:
    return (installment.company_id, installment.schedule_id, installment.position)


def _order(installment: Installment) -> tuple[object, ...]:
    return (installment.created_at, installment.schedule_id, installment.position)


class InMemoryInstallmentRepository:
    def __init__(self, table: _Rows) -> None:
        self._table = table

    async def add(self, installments: Sequence[Installment]) -> None:
        for installment in installments:
            self._table.put(_key(installment), installment)

    async def for_deal(self, company_id: str, deal_id: str) -> list[Installment]:
        return sorted(
            (
                row
                for row in self._table.rows()
                if row.company_id == company_id and row.deal_id == deal_id
            ),
            key=_order,
        )

    async def get(self, company_id: str, schedule_id: str, position: int) -> Installment | None:
        return self._table.get((company_id, schedule_id, position))

    async def save(self, installment: Installment) -> None:
        self._table.put(_key(installment), installment)

    async def due(self, on_or_before: date, limit: int) -> list[Installment]:
        due = (
            row
            for row in self._table.rows()
            if row.state is InstallmentState.SCHEDULED and row.due_on <= on_or_before
        )
        return sorted(due, key=lambda row: (row.due_on, *_order(row)))[:limit]
