"""Postgres invoicing rules and their runs (issue 17). A run's primary key (company, rule,
deal) is what makes a rule invoice a deal at most once: adding a second is a no-op."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import Insert, Table, TextClause, Update, delete, text, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert

from adapters.postgres.deal_changes import DEAL_CHANGES
from adapters.postgres.mappers import rule_from_row, rule_values, run_from_row, run_values
from adapters.postgres.repositories import OnSession
from adapters.postgres.tables import InvoiceRuleRow, RuleRunRow
from application.errors import ConcurrencyConflictError
from application.reasons import MetadataKey
from domain.invoice_rule import InvoiceRule, RuleRun, RuleRunState


def select_notify() -> TextClause:
    return text("SELECT pg_notify(:channel, :key)")


_RULES: Table = InvoiceRuleRow.__table__  # type: ignore[attr-defined]
_RUNS: Table = RuleRunRow.__table__  # type: ignore[attr-defined]


class PostgresInvoiceRuleRepository(OnSession):
    async def list(self, company_id: str) -> list[InvoiceRule]:
        result = await self._session.execute(
            core_select(_RULES)
            .where(_RULES.c.company_id == company_id)
            .order_by(_RULES.c.updated_at.nulls_first(), _RULES.c.id)
        )
        return [rule_from_row(row) for row in result.mappings()]

    async def get(self, company_id: str, rule_id: str) -> InvoiceRule | None:
        result = await self._session.execute(
            core_select(_RULES).where(_RULES.c.company_id == company_id, _RULES.c.id == rule_id)
        )
        row = result.mappings().one_or_none()
        return rule_from_row(row) if row else None

    async def save(self, rule: InvoiceRule) -> InvoiceRule:
        stored = dataclasses.replace(rule, version=rule.version + 1)
        values = rule_values(stored)
        stmt: Insert | Update
        if rule.version == 0:
            stmt = insert(_RULES).values(**values).on_conflict_do_nothing()
        else:
            stmt = (
                update(_RULES)
                .where(
                    _RULES.c.company_id == rule.company_id,
                    _RULES.c.id == rule.id,
                    _RULES.c.version == rule.version,
                )
                .values(**values)
            )
        result = await self._session.execute(stmt)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrencyConflictError(
                "The rules were changed by someone else at the same time; reload and retry.",
                metadata={MetadataKey.COMPANY: rule.company_id},
            )
        return stored

    async def delete(self, company_id: str, rule_id: str) -> bool:
        result = await self._session.execute(
            delete(_RULES).where(_RULES.c.company_id == company_id, _RULES.c.id == rule_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class PostgresRuleRunRepository(OnSession):
    def _key(self, company_id: str, rule_id: str, deal_id: str) -> list[object]:
        return [
            _RUNS.c.company_id == company_id,
            _RUNS.c.rule_id == rule_id,
            _RUNS.c.deal_id == deal_id,
        ]

    async def _announce(self, run: RuleRun) -> None:
        """Open panels of the deal learn of the run when the transaction commits (as of an
        invoice write): a failure shows with its Retry without a reload."""
        await self._session.execute(
            select_notify(), {"channel": DEAL_CHANGES, "key": f"{run.company_id}/{run.deal_id}"}
        )

    async def add(self, run: RuleRun) -> bool:
        # A concurrent insert of the same key makes this one wait for its commit, then do
        # nothing: exactly one of them stores the run.
        result = await self._session.execute(
            insert(_RUNS).values(**run_values(run)).on_conflict_do_nothing()
        )
        added = bool(result.rowcount)  # type: ignore[attr-defined]
        if added:
            await self._announce(run)
        return added

    async def get(self, company_id: str, rule_id: str, deal_id: str) -> RuleRun | None:
        result = await self._session.execute(
            core_select(_RUNS).where(*self._key(company_id, rule_id, deal_id))  # type: ignore[arg-type]
        )
        row = result.mappings().one_or_none()
        return run_from_row(row) if row else None

    async def get_for_update(self, company_id: str, rule_id: str, deal_id: str) -> RuleRun | None:
        result = await self._session.execute(
            core_select(_RUNS)
            .where(*self._key(company_id, rule_id, deal_id))  # type: ignore[arg-type]
            .with_for_update()
        )
        row = result.mappings().one_or_none()
        return run_from_row(row) if row else None

    async def save(self, run: RuleRun) -> None:
        await self._session.execute(
            update(_RUNS)
            .where(*self._key(run.company_id, run.rule_id, run.deal_id))  # type: ignore[arg-type]
            .values(**run_values(run))
        )
        await self._announce(run)

    async def list_for_deal(self, company_id: str, deal_id: str) -> list[RuleRun]:
        result = await self._session.execute(
            core_select(_RUNS)
            .where(_RUNS.c.company_id == company_id, _RUNS.c.deal_id == deal_id)
            .order_by(_RUNS.c.created_at.desc(), _RUNS.c.rule_id)
        )
        return [run_from_row(row) for row in result.mappings()]

    async def list_pending(self, *, older_than: datetime, limit: int) -> list[RuleRun]:
        result = await self._session.execute(
            core_select(_RUNS)
            .where(_RUNS.c.state == RuleRunState.PENDING.value, _RUNS.c.updated_at < older_than)
            .order_by(_RUNS.c.updated_at)
            .limit(limit)
        )
        return [run_from_row(row) for row in result.mappings()]
