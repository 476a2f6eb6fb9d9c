"""Invoicing rules: "when a deal is won" or "when a deal enters stage X", in one pipeline or any,
create the invoice from a template (issue 17), and the record of each rule's run on a deal.

Pure. What a deal did comes in as a :class:`DealMove` (its status and stage before and after one
change, as Pipedrive's deal-update webhook tells it, or as it was created: a deal created won or
in a stage did win or enter it); whether a rule fires on it is
:meth:`InvoiceRule.fires_on`. A rule runs at most once per deal (:class:`RuleRun`, one per deal
and rule): a redelivered webhook or a deal won again finds the run there already.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode

RULES_MAX: Final = 20
WON: Final = "won"
_ID_MAX: Final = 64
# The namespace of the request ids rule runs create their invoices under (uuid5 of it).
_RUN_NAMESPACE: Final = uuid.UUID("3f1c4a52-5b0e-4f55-9c39-8d3a4b6f7e21")


class RuleTrigger(StrEnum):
    WON = "won"  # the deal's status becomes won
    STAGE = "stage"  # the deal enters the rule's stage


def _pipedrive_id(value: str | None, name: str, violations: list[FieldViolation]) -> str | None:
    """A Pipedrive id (a positive whole number, as text), or None when unset."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or int(text) <= 0 or len(text) > 18:
        violations.append(FieldViolation(name, MessageCode.NOT_A_WHOLE_NUMBER))
        return None
    return str(int(text))


@dataclass(frozen=True, slots=True)
class DealMove:
    """One change of a deal: its status, stage and pipeline after it, and, for the fields the
    change touched, their values before (``None``: that field did not change; ``""``: the deal
    had none, it was just created)."""

    status: str
    stage_id: str | None
    pipeline_id: str | None
    previous_status: str | None = None
    previous_stage_id: str | None = None

    @classmethod
    def created(cls, status: str, stage_id: str | None, pipeline_id: str | None) -> DealMove:
        """A deal's creation: from nothing to its first status and stage, so a deal created
        won was won, and one created in a stage entered it."""
        return cls(status, stage_id, pipeline_id, previous_status="", previous_stage_id="")

    @property
    def was_won(self) -> bool:
        """The change made the deal won (a won deal edited otherwise is not "won" again)."""
        return self.status == WON and self.previous_status not in (None, WON)

    @property
    def entered_stage(self) -> str | None:
        """The stage the change moved the deal into, if it moved it."""
        if self.previous_stage_id is None or self.previous_stage_id == self.stage_id:
            return None
        return self.stage_id


@dataclass(frozen=True, slots=True)
class InvoiceRule:
    """One company's rule. ``pipeline_id`` None: any pipeline. ``template_id`` None: the
    company's default template, as the invoice form opens with (none if it has none)."""

    company_id: str
    id: str
    trigger: RuleTrigger
    stage_id: str | None = None
    pipeline_id: str | None = None
    template_id: str | None = None
    enabled: bool = True
    version: int = 0
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        violations: list[FieldViolation] = []
        trigger = self.trigger
        if not isinstance(trigger, RuleTrigger):
            try:
                trigger = RuleTrigger(str(trigger))
            except ValueError:
                violations.append(
                    FieldViolation.of(
                        "trigger",
                        MessageCode.CHOOSE_ONE_OF,
                        choices=", ".join(t.value for t in RuleTrigger),
                    )
                )
            else:
                object.__setattr__(self, "trigger", trigger)
        raw_stage = self.stage_id
        stage = _pipedrive_id(raw_stage, "stage_id", violations)
        pipeline = _pipedrive_id(self.pipeline_id, "pipeline_id", violations)
        object.__setattr__(self, "stage_id", stage)
        object.__setattr__(self, "pipeline_id", pipeline)
        if trigger == RuleTrigger.STAGE and raw_stage in (None, ""):
            violations.append(FieldViolation("stage_id", MessageCode.RULE_STAGE_REQUIRED))
        if trigger == RuleTrigger.WON and stage is not None:
            violations.append(FieldViolation("stage_id", MessageCode.RULE_STAGE_NOT_FOR_WON))
        template = (self.template_id or "").strip() or None
        if template is not None and len(template) > _ID_MAX:
            violations.append(FieldViolation.of("template_id", MessageCode.TOO_LONG, max=_ID_MAX))
        object.__setattr__(self, "template_id", template)
        if not isinstance(self.enabled, bool):
            violations.append(FieldViolation("enabled", MessageCode.NOT_A_BOOLEAN))
        if violations:
            raise InvalidValueError.many(violations)

    @property
    def event(self) -> tuple[RuleTrigger, str | None, str | None]:
        """What the rule waits for: two rules on the same event would invoice a deal twice."""
        return self.trigger, self.stage_id, self.pipeline_id

    def fires_on(self, move: DealMove) -> bool:
        if not self.enabled:
            return False
        if self.pipeline_id is not None and self.pipeline_id != move.pipeline_id:
            return False
        if self.trigger is RuleTrigger.WON:
            return move.was_won
        return move.entered_stage is not None and move.entered_stage == self.stage_id


def check_rules(rules: list[InvoiceRule], rule: InvoiceRule) -> None:
    """``rule`` may join (or replace its own version among) the company's ``rules``."""
    others = [r for r in rules if r.id != rule.id]
    if any(r.event == rule.event for r in others):
        raise InvalidValueError(FieldViolation("trigger", MessageCode.RULE_DUPLICATE))
    if len(others) >= RULES_MAX and len(others) == len(rules):
        raise InvalidValueError(
            FieldViolation.of("trigger", MessageCode.TOO_MANY_RULES, max=RULES_MAX)
        )


class RuleRunState(StrEnum):
    PENDING = "PENDING"  # queued: the job creates the invoice
    DONE = "DONE"  # the invoice exists (``invoice_id``)
    FAILED = "FAILED"  # nothing usable was created; ``failure_*`` say why, Retry runs it again


@dataclass(frozen=True, slots=True)
class RuleRun:
    """A rule's run on one deal: at most one per (company, rule, deal), whatever the deal does
    later. ``attempt`` counts the runs a person asked for again (Retry) after a failure: each
    attempt creates its invoice under its own request id, the same on every retry of the job."""

    company_id: str
    rule_id: str
    deal_id: str
    state: RuleRunState
    created_at: datetime
    updated_at: datetime
    attempt: int = 1
    invoice_id: str | None = None
    failure_code: str | None = None
    failure_params: dict[str, str] = field(default_factory=dict)
    failure_field: str | None = None
    noted: bool = False  # the failure's note is on the deal

    @property
    def request_id(self) -> str:
        """The CreateInvoice request id of this attempt: the same for every retry of its job,
        so that the invoice is created once however often the job runs."""
        key = f"{self.company_id}/{self.rule_id}/{self.deal_id}/{self.attempt}"
        return f"rule-{uuid.uuid5(_RUN_NAMESPACE, key)}"

    def succeeded(self, invoice_id: str, now: datetime) -> RuleRun:
        return _replace(
            self,
            state=RuleRunState.DONE,
            invoice_id=invoice_id,
            failure_code=None,
            failure_params={},
            failure_field=None,
            updated_at=now,
        )

    def failed(
        self,
        code: str,
        params: dict[str, str],
        now: datetime,
        *,
        field_path: str | None = None,
        invoice_id: str | None = None,
    ) -> RuleRun:
        return _replace(
            self,
            state=RuleRunState.FAILED,
            failure_code=code,
            failure_params=dict(params),
            failure_field=field_path,
            invoice_id=invoice_id,
            noted=False,
            updated_at=now,
        )

    def retried(self, now: datetime) -> RuleRun:
        """Run again after a failure, as a new attempt (a new request id)."""
        if self.state is not RuleRunState.FAILED:
            raise InvalidValueError(FieldViolation("rule_run", MessageCode.RULE_RUN_NOT_FAILED))
        return _replace(
            self,
            state=RuleRunState.PENDING,
            attempt=self.attempt + 1,
            invoice_id=None,
            failure_code=None,
            failure_params={},
            failure_field=None,
            noted=False,
            updated_at=now,
        )


def _replace(run: RuleRun, **changes: object) -> RuleRun:
    return dataclasses.replace(run, **changes)  # type: ignore[arg-type]
