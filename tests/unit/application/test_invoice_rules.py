"""Invoicing rules (issue 17) with the in-memory fakes: a deal won creates its invoice once per
deal and rule, whatever Pipedrive redelivers, however often the deal is won and the job runs;
a failure is recorded, noted once on the deal, and retried by a person who may invoice."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.in_memory.crm import InMemoryCrmGateway
from adapters.pipedrive.webhook_payloads import parse_change
from application.auth import Principal
from application.commands import (
    CreateInvoiceCommand,
    DealRef,
    InvoiceRuleInput,
    InvoiceRuleRefCommand,
    RetryRuleRunCommand,
    SaveInvoiceRuleCommand,
)
from application.crm_events import HandleCrmChange
from application.errors import NotFoundError, PermissionDeniedError
from application.invoice_rules import (
    DeleteInvoiceRule,
    ListInvoiceRules,
    ListPipelines,
    SaveInvoiceRule,
)
from application.invoicing.by_rule import (
    ListRuleRuns,
    QueuePendingRuleRuns,
    RetryRuleRun,
    RunInvoiceRule,
    StartInvoiceRules,
    invoice_input,
)
from application.ports.crm import CrmPipeline, CrmStage
from application.visibility import DealVisibility
from domain.errors import InvalidValueError
from domain.invoice import InvoiceState
from domain.invoice_rule import DealMove, RuleRunState
from domain.messages import MessageCode
from domain.permissions import Action, Permissions
from domain.settings import CompanySettings
from tests.unit.application.invoicing_world import COMPANY, OTHER, USER, World, a_deal

ADMIN = Principal(subject="admin-1", companies=frozenset({COMPANY}), is_admin=True)
WON = DealMove("won", "3", "1", previous_status="open")


class Rules:
    def __init__(self, world: World) -> None:
        self.world = world
        w = world
        self.save = SaveInvoiceRule(w.uow, w.clock, new_id=lambda: f"rule-{len(w.uow.store.rules)}")
        self.list = ListInvoiceRules(w.uow)
        self.delete = DeleteInvoiceRule(w.uow)
        self.start = StartInvoiceRules(w.uow, w.jobs, w.clock)
        self.run = RunInvoiceRule(w.uow, w.prepare, w.create, w.crm, w.clock)
        visibility = DealVisibility(w.crm)
        self.retry = RetryRuleRun(w.uow, w.jobs, w.clock, visibility)
        self.runs = ListRuleRuns(w.uow, visibility)
        self.sweep = QueuePendingRuleRuns(w.uow, w.jobs, w.clock)
        self.handle = HandleCrmChange(w.uow, rules=self.start)

    async def add(self, **fields: object) -> str:
        data = InvoiceRuleInput(**({"trigger": "won"} | fields))  # type: ignore[arg-type]
        rule = await self.save.execute(SaveInvoiceRuleCommand(ADMIN, COMPANY, data))
        return rule.id

    def queued(self) -> list[dict[str, str]]:
        return [args for task, args in self.world.jobs.deferred if task == "run_invoice_rule"]

    async def run_queued(self) -> None:
        for args in self.queued():
            await self.run.execute(**args)
        self.world.jobs.deferred.clear()


@pytest.fixture
def rules() -> Rules:
    return Rules(World())


def qbo_invoices(rules: Rules) -> int:
    return len(rules.world.qbo.invoices)


async def test_a_won_deal_gets_one_invoice_from_its_products(rules: Rules) -> None:
    rule_id = await rules.add()

    assert await rules.start.execute(COMPANY, "42", WON) == 1
    assert rules.queued() == [{"company_id": COMPANY, "rule_id": rule_id, "deal_id": "42"}]
    await rules.run_queued()

    [run] = await rules.runs.execute(DealRef(USER, COMPANY, "42"))
    assert run.state is RuleRunState.DONE
    assert run.invoice_id is not None
    [invoice] = rules.world.uow.store.invoices.values()
    assert (invoice.id, invoice.state) == (run.invoice_id, InvoiceState.OPEN)
    assert [line.name for line in invoice.lines if not line.is_discount] == [
        p.name for p in a_deal().products
    ]
    assert qbo_invoices(rules) == 1


async def test_a_redelivered_webhook_a_rewon_deal_and_a_repeated_job_add_nothing(
    rules: Rules,
) -> None:
    rule_id = await rules.add()
    await rules.start.execute(COMPANY, "42", WON)
    await rules.start.execute(COMPANY, "42", WON)  # redelivered before the job ran
    assert len(rules.queued()) == 1  # the queue keeps one job per run
    await rules.run_queued()

    await rules.start.execute(COMPANY, "42", WON)  # redelivered later, or lost then won again
    assert rules.queued() == []
    await rules.run.execute(COMPANY, rule_id, "42")  # a copy of the job (a worker died)

    assert qbo_invoices(rules) == 1
    assert len(rules.world.uow.store.invoices) == 1


async def test_a_job_killed_after_storing_its_invoice_ends_with_that_one(rules: Rules) -> None:
    rule_id = await rules.add()
    await rules.start.execute(COMPANY, "42", WON)
    run = rules.world.uow.store.rule_runs[(COMPANY, rule_id, "42")]
    # The first try stored its invoice, then died; meanwhile the deal's products changed, so
    # a draft prepared again would not be the same request.
    first = await rules.world.create.execute(
        CreateInvoiceCommand(
            DealRef(ADMIN, COMPANY, "42"),
            replace(
                invoice_input(
                    await rules.world.prepare.execute(DealRef(ADMIN, COMPANY, "42")), None
                ),
                memo="first try",
            ),
            request_id=run.request_id,
        )
    )
    rules.world.crm.add_deal(COMPANY, replace(a_deal(), products=a_deal().products[:1]))

    await rules.run_queued()

    [run] = await rules.runs.execute(DealRef(USER, COMPANY, "42"))
    assert (run.state, run.invoice_id) == (RuleRunState.DONE, first.id)
    assert qbo_invoices(rules) == 1


async def test_a_change_that_does_not_win_the_deal_fires_nothing(rules: Rules) -> None:
    await rules.add()
    await rules.add(trigger="stage", stage_id="5", pipeline_id="2")

    assert await rules.start.execute(COMPANY, "42", DealMove("won", "3", "1")) == 0
    assert await rules.start.execute(COMPANY, "42", DealMove("open", "5", "1", None, "4")) == 0
    assert await rules.start.execute(COMPANY, "42", DealMove("open", "5", "2", None, "4")) == 1
    assert len(rules.queued()) == 1


async def test_a_deal_without_products_fails_once_with_a_note_and_a_retry_creates_it(
    rules: Rules,
) -> None:
    rule_id = await rules.add()
    rules.world.crm.add_deal(COMPANY, replace(a_deal(), products=(), discounts=()))
    await rules.start.execute(COMPANY, "42", WON)
    await rules.run_queued()
    await rules.run.execute(COMPANY, rule_id, "42")  # the job again: no second note

    [run] = await rules.runs.execute(DealRef(USER, COMPANY, "42"))
    assert (run.state, run.failure_code, run.noted) == (
        RuleRunState.FAILED,
        MessageCode.NO_LINES,
        True,
    )
    notes = await rules.world.crm.deal_notes(COMPANY, "42")
    assert len(notes) == 1
    assert "The deal has no products" in notes[0]
    assert qbo_invoices(rules) == 0

    with pytest.raises(PermissionDeniedError):
        await rules.retry.execute(RetryRuleRunCommand(DealRef(OTHER, COMPANY, "42"), rule_id))
    rules.world.crm.add_deal(COMPANY, a_deal())
    retried = await rules.retry.execute(RetryRuleRunCommand(DealRef(USER, COMPANY, "42"), rule_id))
    assert (retried.state, retried.attempt) == (RuleRunState.PENDING, 2)
    await rules.run_queued()

    [run] = await rules.runs.execute(DealRef(USER, COMPANY, "42"))
    assert run.state is RuleRunState.DONE
    assert qbo_invoices(rules) == 1
    with pytest.raises(InvalidValueError) as not_failed:
        await rules.retry.execute(RetryRuleRunCommand(DealRef(USER, COMPANY, "42"), rule_id))
    assert not_failed.value.violations[0].code is MessageCode.RULE_RUN_NOT_FAILED


async def test_retrying_needs_the_create_permission(rules: Rules) -> None:
    rule_id = await rules.add()
    rules.world.crm.add_deal(COMPANY, replace(a_deal(), products=(), discounts=()))
    await rules.start.execute(COMPANY, "42", WON)
    await rules.run_queued()
    async with rules.world.uow() as uow:
        settings = CompanySettings.default(COMPANY)
        admins_only = Permissions(admins_only=frozenset({Action.CREATE}))
        await uow.settings.save(replace(settings, permissions=admins_only))
        await uow.commit()

    with pytest.raises(PermissionDeniedError):
        await rules.retry.execute(RetryRuleRunCommand(DealRef(USER, COMPANY, "42"), rule_id))
    await rules.retry.execute(RetryRuleRunCommand(DealRef(ADMIN, COMPANY, "42"), rule_id))


async def test_quickbooks_refusing_the_invoice_is_a_failure_with_its_reason(rules: Rules) -> None:
    await rules.add()
    rules.world.qbo.preferences = replace(rules.world.qbo.preferences, enabled_currencies=("EUR",))
    await rules.start.execute(COMPANY, "42", WON)
    await rules.run_queued()

    [run] = await rules.runs.execute(DealRef(USER, COMPANY, "42"))
    assert run.state is RuleRunState.FAILED
    assert run.failure_code
    assert len(await rules.world.crm.deal_notes(COMPANY, "42")) == 1


async def test_a_pending_run_whose_job_was_lost_is_queued_again_by_the_sweep(
    rules: Rules,
) -> None:
    rule_id = await rules.add()
    await rules.start.execute(COMPANY, "42", WON)
    rules.world.jobs.deferred.clear()  # the queueing was lost
    assert await rules.sweep.execute() == 0  # not yet: its job may still be on its way
    rules.world.clock.advance(timedelta(minutes=3))

    assert await rules.sweep.execute() == 1
    assert rules.queued() == [{"company_id": COMPANY, "rule_id": rule_id, "deal_id": "42"}]


async def test_rules_are_for_admins_name_a_known_template_and_are_not_duplicated(
    rules: Rules,
) -> None:
    with pytest.raises(PermissionDeniedError):
        await rules.save.execute(
            SaveInvoiceRuleCommand(USER, COMPANY, InvoiceRuleInput(trigger="won"))
        )
    with pytest.raises(InvalidValueError) as unknown:
        await rules.add(template_id="nope")
    assert unknown.value.violations[0].code is MessageCode.UNKNOWN_TEMPLATE
    rule_id = await rules.add()
    with pytest.raises(InvalidValueError) as twice:
        await rules.add()
    assert twice.value.violations[0].code is MessageCode.RULE_DUPLICATE
    disabled = await rules.save.execute(
        SaveInvoiceRuleCommand(
            ADMIN, COMPANY, InvoiceRuleInput(trigger="won", enabled=False), rule_id=rule_id
        )
    )
    assert (disabled.enabled, disabled.version) == (False, 2)
    assert [r.id for r in await rules.list.execute(USER, COMPANY)] == [rule_id]
    with pytest.raises(PermissionDeniedError):
        await rules.list.execute(OTHER, COMPANY)
    await rules.delete.execute(InvoiceRuleRefCommand(ADMIN, COMPANY, rule_id))
    with pytest.raises(NotFoundError):
        await rules.delete.execute(InvoiceRuleRefCommand(ADMIN, COMPANY, rule_id))


async def test_the_deal_update_webhook_fires_the_rules(rules: Rules) -> None:
    await rules.add()
    body = {
        "data": {"id": 42, "status": "won", "stage_id": 3, "pipeline_id": 1},
        "previous": {"status": "open", "won_time": None},
        "meta": {"action": "change", "entity": "deal", "entity_id": "42", "company_id": COMPANY},
    }
    edited = {**body, "previous": {"title": "Old title"}}

    assert await rules.handle.execute(parse_change(json.dumps(edited).encode())) == "no rule fired"
    assert await rules.handle.execute(parse_change(json.dumps(body).encode())) == "1 rules fired"
    assert len(rules.queued()) == 1


def deal_webhook(action: str, data: dict[str, object], previous: object = None) -> bytes:
    meta = {"action": action, "entity": "deal", "entity_id": "42", "company_id": COMPANY}
    return json.dumps({"data": {"id": 42} | data, "previous": previous, "meta": meta}).encode()


def test_a_v2_deal_creation_reads_as_a_move_from_nothing() -> None:
    # As webhooks v2 bodies come: string ids in meta, `previous` null on create (reference §9).
    raw = deal_webhook("create", {"status": "won", "stage_id": 3, "pipeline_id": 1})

    change = parse_change(raw)

    assert (change.entity, change.action, change.entity_id) == ("deal", "create", "42")
    assert change.deal_move == DealMove.created("won", "3", "1")
    assert change.deal_move is not None
    assert (change.deal_move.was_won, change.deal_move.entered_stage) == (True, "3")
    created_open = parse_change(deal_webhook("create", {"status": "open", "stage_id": 4}))
    assert created_open.deal_move == DealMove("open", "4", None, "", "")
    assert not created_open.deal_move.was_won
    # v1 (legacy) bodies: `added` is a creation, the deal is in `current`.
    legacy = {
        "meta": {"action": "added", "object": "deal", "id": 42, "company_id": 13000001},
        "current": {"id": 42, "status": "won", "stage_id": 3, "pipeline_id": 1},
        "previous": None,
    }
    assert parse_change(json.dumps(legacy).encode()).deal_move == DealMove.created("won", "3", "1")


async def test_a_deal_created_won_or_in_the_rules_stage_fires_the_rules(rules: Rules) -> None:
    await rules.add()
    await rules.add(trigger="stage", stage_id="4")
    created_won = deal_webhook("create", {"status": "won", "stage_id": 3, "pipeline_id": 1})
    created_in_4 = deal_webhook("create", {"status": "open", "stage_id": 4, "pipeline_id": 1})
    created_open = deal_webhook("create", {"status": "open", "stage_id": 1, "pipeline_id": 1})

    assert await rules.handle.execute(parse_change(created_open)) == "no rule fired"
    assert await rules.handle.execute(parse_change(created_won)) == "1 rules fired"
    assert await rules.handle.execute(parse_change(created_in_4)) == "1 rules fired"
    assert len(rules.queued()) == 2


async def test_a_deal_created_won_then_won_again_gets_one_invoice(rules: Rules) -> None:
    await rules.add()
    created = deal_webhook("create", {"status": "won", "stage_id": 3, "pipeline_id": 1})
    reopened = deal_webhook("change", {"status": "open", "stage_id": 3}, {"status": "won"})
    won = deal_webhook("change", {"status": "won", "stage_id": 3}, {"status": "open"})

    await rules.handle.execute(parse_change(created))
    await rules.handle.execute(parse_change(won))  # before the job ran: the same run
    assert len(rules.queued()) == 1
    await rules.run_queued()
    await rules.handle.execute(parse_change(reopened))
    assert await rules.handle.execute(parse_change(won)) == "1 rules fired"  # found done
    assert rules.queued() == []
    await rules.run_queued()

    assert qbo_invoices(rules) == 1
    assert len(rules.world.uow.store.invoices) == 1


async def test_a_deal_created_open_then_won_gets_one_invoice(rules: Rules) -> None:
    await rules.add()
    created = deal_webhook("create", {"status": "open", "stage_id": 3, "pipeline_id": 1})
    won = deal_webhook("change", {"status": "won", "stage_id": 3}, {"status": "open"})

    assert await rules.handle.execute(parse_change(created)) == "no rule fired"
    assert await rules.handle.execute(parse_change(won)) == "1 rules fired"
    await rules.run_queued()
    await rules.handle.execute(parse_change(won))  # redelivered

    assert rules.queued() == []
    assert qbo_invoices(rules) == 1


async def test_a_user_who_cannot_see_the_deal_neither_sees_nor_retries_its_runs(
    rules: Rules,
) -> None:
    rule_id = await rules.add()
    rules.world.crm.members[COMPANY] = {"31", "33"}
    rules.world.crm.restrict_deal(COMPANY, "42", {"31"})
    rules.world.crm.add_deal(COMPANY, replace(a_deal(), products=(), discounts=()))
    await rules.start.execute(COMPANY, "42", WON)
    await rules.run_queued()  # the rule sees every deal: it runs, and fails for the products

    def user(user_id: str) -> DealRef:
        who = Principal(f"pipedrive-user-{user_id}", frozenset({COMPANY}), user_id=user_id)
        return DealRef(who, COMPANY, "42")

    assert [r.state for r in await rules.runs.execute(user("31"))] == [RuleRunState.FAILED]
    with pytest.raises(PermissionDeniedError):
        await rules.runs.execute(user("33"))
    with pytest.raises(PermissionDeniedError):
        await rules.retry.execute(RetryRuleRunCommand(user("33"), rule_id))


async def test_a_deal_without_runs_lists_none_without_asking_pipedrive(rules: Rules) -> None:
    rules.world.crm.members[COMPANY] = {"31", "33"}
    rules.world.crm.restrict_deal(COMPANY, "42", {"31"})
    rules.world.crm.permitted_reads.clear()
    outsider = Principal("pipedrive-user-33", frozenset({COMPANY}), user_id="33")

    assert await rules.runs.execute(DealRef(outsider, COMPANY, "42")) == []
    assert rules.world.crm.permitted_reads == []  # a panel load costs no more reads


async def test_anyone_of_the_company_reads_its_pipelines_and_no_one_elses() -> None:
    crm = InMemoryCrmGateway()
    sales = CrmPipeline("1", "Sales", 0, (CrmStage("4", "Proposal made", 4),))
    crm.pipelines[COMPANY] = [sales]
    member = Principal(subject="member-1", companies=frozenset({COMPANY}), is_admin=False)

    assert await ListPipelines(crm).execute(member, COMPANY) == [sales]
    with pytest.raises(PermissionDeniedError):
        await ListPipelines(crm).execute(member, OTHER)
