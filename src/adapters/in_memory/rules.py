"""In-memory invoicing rules and their runs (see ``persistence`` for the unit of work)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from adapters.in_memory.table import OnTable, conflict
from domain.invoice_rule import InvoiceRule, RuleRun, RuleRunState

_EPOCH = datetime.min.replace(tzinfo=UTC)


class InMemoryInvoiceRuleRepository(OnTable[tuple[str, str], InvoiceRule]):
    async def list(self, company_id: str) -> list[InvoiceRule]:
        rows = [r for r in self._table.rows() if r.company_id == company_id]
        return sorted(rows, key=lambda r: (r.updated_at or _EPOCH, r.id))  # nulls first

    async def get(self, company_id: str, rule_id: str) -> InvoiceRule | None:
        return self._table.get((company_id, rule_id))

    async def save(self, rule: InvoiceRule) -> InvoiceRule:
        key = (rule.company_id, rule.id)
        current = self._table.get(key)
        if rule.version != (current.version if current else 0):
            raise conflict("rule")
        stored = dataclasses.replace(rule, version=rule.version + 1)
        self._table.put_if(key, stored, rule.version or None)
        return stored

    async def delete(self, company_id: str, rule_id: str) -> bool:
        if self._table.get((company_id, rule_id)) is None:
            return False
        self._table.put((company_id, rule_id), None)
        return True


class InMemoryRuleRunRepository(OnTable[tuple[str, str, str], RuleRun]):
    async def add(self, run: RuleRun) -> bool:
        key = (run.company_id, run.rule_id, run.deal_id)
        if self._table.get(key) is not None:
            return False
        # A concurrent add committed first: this commit raises, as Postgres' key would refuse it.
        self._table.put_if(key, run, None)
        return True

    async def get(self, company_id: str, rule_id: str, deal_id: str) -> RuleRun | None:
        return self._table.get((company_id, rule_id, deal_id))

    async def get_for_update(self, company_id: str, rule_id: str, deal_id: str) -> RuleRun | None:
        return self._table.get((company_id, rule_id, deal_id))

    async def save(self, run: RuleRun) -> None:
        self._table.put((run.company_id, run.rule_id, run.deal_id), run)

    async def list_for_deal(self, company_id: str, deal_id: str) -> list[RuleRun]:
        rows = [r for r in self._table.rows() if (r.company_id, r.deal_id) == (company_id, deal_id)]
        return sorted(rows, key=lambda r: (r.created_at, r.rule_id), reverse=True)

    async def list_pending(self, *, older_than: datetime, limit: int) -> list[RuleRun]:
        rows = [
            r
            for r in self._table.rows()
            if r.state is RuleRunState.PENDING and r.updated_at < older_than
        ]
        return sorted(rows, key=lambda r: r.updated_at)[:limit]
