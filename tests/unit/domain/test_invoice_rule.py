"""Invoicing rules: what they accept, and which deal changes fire them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import InvalidValueError
from domain.invoice_rule import (
    RULES_MAX,
    DealMove,
    InvoiceRule,
    RuleRun,
    RuleRunState,
    RuleTrigger,
    check_rules,
)
from domain.messages import MessageCode

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def won_rule(**changes: object) -> InvoiceRule:
    fields: dict[str, object] = {"company_id": "1", "id": "r1", "trigger": RuleTrigger.WON}
    return InvoiceRule(**(fields | changes))  # type: ignore[arg-type]


def codes(exc: pytest.ExceptionInfo[InvalidValueError]) -> dict[str, MessageCode]:
    return {v.field: v.code for v in exc.value.violations}


def test_a_stage_rule_needs_its_stage_and_a_won_rule_takes_none() -> None:
    with pytest.raises(InvalidValueError) as no_stage:
        won_rule(trigger="stage")
    assert codes(no_stage) == {"stage_id": MessageCode.RULE_STAGE_REQUIRED}
    with pytest.raises(InvalidValueError) as stage_on_won:
        won_rule(stage_id="4")
    assert codes(stage_on_won) == {"stage_id": MessageCode.RULE_STAGE_NOT_FOR_WON}


def test_every_problem_is_reported_with_a_code_at_once() -> None:
    with pytest.raises(InvalidValueError) as bad:
        won_rule(trigger="lost", pipeline_id="one", template_id="t" * 65)
    assert codes(bad) == {
        "trigger": MessageCode.CHOOSE_ONE_OF,
        "pipeline_id": MessageCode.NOT_A_WHOLE_NUMBER,
        "template_id": MessageCode.TOO_LONG,
    }


def test_text_values_are_read_into_their_types() -> None:
    rule = won_rule(trigger="stage", stage_id=" 07 ", pipeline_id="", template_id="  ")
    assert rule.trigger is RuleTrigger.STAGE
    assert (rule.stage_id, rule.pipeline_id, rule.template_id) == ("7", None, None)


def test_a_won_rule_fires_only_when_the_change_wins_the_deal() -> None:
    rule = won_rule()
    assert rule.fires_on(DealMove("won", "3", "1", previous_status="open"))
    assert rule.fires_on(DealMove("won", "3", "1", previous_status="lost"))
    # A won deal edited otherwise (its status not among the changed fields) is not won again.
    assert not rule.fires_on(DealMove("won", "3", "1"))
    assert not rule.fires_on(DealMove("lost", "3", "1", previous_status="open"))
    assert not won_rule(enabled=False).fires_on(DealMove("won", "3", "1", previous_status="open"))


def test_a_rule_for_one_pipeline_ignores_the_others() -> None:
    rule = won_rule(pipeline_id="2")
    assert rule.fires_on(DealMove("won", "3", "2", previous_status="open"))
    assert not rule.fires_on(DealMove("won", "3", "1", previous_status="open"))


def test_a_stage_rule_fires_when_the_deal_enters_its_stage() -> None:
    rule = won_rule(trigger="stage", stage_id="4")
    assert rule.fires_on(DealMove("open", "4", "1", previous_stage_id="3"))
    assert not rule.fires_on(DealMove("open", "4", "1"))  # already there: another field changed
    assert not rule.fires_on(DealMove("open", "5", "1", previous_stage_id="4"))  # left it


def test_a_deal_created_won_or_in_the_rules_stage_fires_the_rule() -> None:
    won, stage = won_rule(), won_rule(trigger="stage", stage_id="4")
    created_won = DealMove.created("won", "4", "1")
    created_open = DealMove.created("open", "4", "1")
    assert (created_won.was_won, created_won.entered_stage) == (True, "4")
    assert (created_open.was_won, created_open.entered_stage) == (False, "4")
    assert won.fires_on(created_won)
    assert not won.fires_on(created_open)
    assert stage.fires_on(created_open)
    assert not stage.fires_on(DealMove.created("open", "3", "1"))
    assert not won_rule(pipeline_id="2").fires_on(created_won)
    assert DealMove.created("open", None, None).entered_stage is None  # no stage to enter


def test_two_rules_on_the_same_event_are_refused_and_the_count_is_capped() -> None:
    first = won_rule()
    with pytest.raises(InvalidValueError) as twice:
        check_rules([first], won_rule(id="r2", template_id="t"))
    assert codes(twice) == {"trigger": MessageCode.RULE_DUPLICATE}
    check_rules([first], won_rule(id="r2", pipeline_id="2"))  # another pipeline: fine
    check_rules([first], won_rule(enabled=False))  # replacing itself: fine
    many = [won_rule(id=f"r{n}", pipeline_id=str(n + 1)) for n in range(RULES_MAX)]
    with pytest.raises(InvalidValueError) as full:
        check_rules(many, won_rule(id="new", pipeline_id="999"))
    assert codes(full) == {"trigger": MessageCode.TOO_MANY_RULES}


def test_a_run_has_one_request_id_per_attempt_and_only_a_failure_is_retried() -> None:
    run = RuleRun("1", "r1", "42", RuleRunState.PENDING, NOW, NOW)
    assert run.request_id == RuleRun("1", "r1", "42", RuleRunState.DONE, NOW, NOW).request_id
    assert run.request_id != RuleRun("1", "r1", "43", RuleRunState.PENDING, NOW, NOW).request_id
    with pytest.raises(InvalidValueError):
        run.retried(NOW)
    failed = run.failed(MessageCode.NO_LINES, {}, NOW, field_path="lines")
    again = failed.retried(NOW)
    assert (again.state, again.attempt, again.failure_code) == (RuleRunState.PENDING, 2, None)
    assert again.request_id != run.request_id
