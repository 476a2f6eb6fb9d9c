"""The invoicing rules and their runs: one suite, run on the fake and on Postgres."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.postgres.engine import build_session_factory
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.errors import ConcurrencyConflictError
from application.ports.persistence import UnitOfWorkFactory
from domain.invoice_rule import InvoiceRule, RuleRun, RuleRunState, RuleTrigger
from domain.messages import MessageCode

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["in_memory", pytest.param("postgres", marks=pytest.mark.integration)])
def uow_factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "in_memory":
        return InMemoryUnitOfWorkFactory()
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(engine))


def a_rule(rule_id: str = "r1", **changes: object) -> InvoiceRule:
    rule = InvoiceRule(
        company_id="1001",
        id=rule_id,
        trigger=RuleTrigger.STAGE,
        stage_id="4",
        pipeline_id="2",
        template_id="t1",
        updated_at=NOW,
    )
    return dataclasses.replace(rule, **changes)


def a_run(deal_id: str = "42", **changes: object) -> RuleRun:
    run = RuleRun("1001", "r1", deal_id, RuleRunState.PENDING, NOW, NOW)
    return dataclasses.replace(run, **changes)


async def test_a_rule_reads_back_equal_and_rules_list_oldest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        second = await uow.invoice_rules.save(a_rule("r2", updated_at=NOW + timedelta(hours=1)))
        first = await uow.invoice_rules.save(a_rule("r1"))
        await uow.invoice_rules.save(a_rule("other", company_id="2002"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.invoice_rules.get("1001", "r1") == first
        assert await uow.invoice_rules.list("1001") == [first, second]
        assert first.version == 1


async def test_a_stale_rule_is_refused_and_a_deleted_one_is_gone(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        stored = await uow.invoice_rules.save(a_rule())
        await uow.commit()
    async with uow_factory() as uow:
        await uow.invoice_rules.save(dataclasses.replace(stored, enabled=False))
        await uow.commit()
    with pytest.raises(ConcurrencyConflictError):
        async with uow_factory() as uow:
            await uow.invoice_rules.save(dataclasses.replace(stored, pipeline_id=None))
            await uow.commit()
    async with uow_factory() as uow:
        assert await uow.invoice_rules.delete("1001", "r1")
        assert not await uow.invoice_rules.delete("1001", "r1")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.invoice_rules.get("1001", "r1") is None


async def test_one_run_per_deal_and_rule_even_when_added_at_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async def add() -> bool:
        try:
            async with uow_factory() as uow:
                added = await uow.rule_runs.add(a_run())
                await uow.commit()
                return added
        except ConcurrencyConflictError:
            return False

    assert sorted(await asyncio.gather(*(add() for _ in range(5)))) == [False] * 4 + [True]
    async with uow_factory() as uow:
        assert not await uow.rule_runs.add(a_run(state=RuleRunState.DONE))
        assert await uow.rule_runs.get("1001", "r1", "42") == a_run()


async def test_a_run_is_saved_listed_for_its_deal_and_found_while_pending(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.rule_runs.add(a_run())
        await uow.rule_runs.add(a_run("43", updated_at=NOW + timedelta(minutes=5)))
        await uow.commit()
    failed = a_run().failed(MessageCode.NO_LINES, {"a": "b"}, NOW, field_path="lines")
    async with uow_factory() as uow:
        run = await uow.rule_runs.get_for_update("1001", "r1", "42")
        assert run is not None
        await uow.rule_runs.save(failed)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.rule_runs.list_for_deal("1001", "42") == [failed]
        pending = await uow.rule_runs.list_pending(older_than=NOW + timedelta(hours=1), limit=10)
        assert [r.deal_id for r in pending] == ["43"]
        assert await uow.rule_runs.list_pending(older_than=NOW, limit=10) == []
        await uow.forget_company("1001")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.rule_runs.list_for_deal("1001", "42") == []
