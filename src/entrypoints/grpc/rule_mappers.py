"""Invoicing rules and their runs <-> proto (issue 17)."""

from __future__ import annotations

from application.commands import InvoiceRuleInput
from application.ports.crm import CrmPipeline
from dealbooks.v1 import invoice_rule_pb2 as pb
from dealbooks.v1 import settings_service_pb2 as service_pb
from domain.errors import InvalidValueError
from domain.invoice_rule import InvoiceRule, RuleRun, RuleRunState, RuleTrigger
from domain.messages import MessageCode, english
from entrypoints.grpc.mappers import timestamp
from entrypoints.grpc.names import (
    invoice_name,
    parse_template_name,
    rule_name,
    rule_run_name,
    template_name,
)

_TRIGGERS = {
    RuleTrigger.WON: pb.INVOICE_RULE_TRIGGER_WON,
    RuleTrigger.STAGE: pb.INVOICE_RULE_TRIGGER_STAGE,
}
_STATES = {
    RuleRunState.PENDING: pb.INVOICE_RULE_RUN_STATE_PENDING,
    RuleRunState.DONE: pb.INVOICE_RULE_RUN_STATE_SUCCEEDED,
    RuleRunState.FAILED: pb.INVOICE_RULE_RUN_STATE_FAILED,
}


def pipeline_to_proto(pipeline: CrmPipeline) -> service_pb.Pipeline:
    return service_pb.Pipeline(
        id=pipeline.id,
        display_name=pipeline.name,
        stages=[
            service_pb.PipelineStage(id=s.id, display_name=s.name, order=s.order)
            for s in pipeline.stages
        ],
    )


def rule_to_proto(rule: InvoiceRule) -> pb.InvoiceRule:
    return pb.InvoiceRule(
        name=rule_name(rule.company_id, rule.id),
        trigger=_TRIGGERS[rule.trigger],
        stage_id=rule.stage_id or "",
        pipeline_id=rule.pipeline_id or "",
        template=template_name(rule.company_id, rule.template_id) if rule.template_id else "",
        enabled=rule.enabled,
        create_time=timestamp(rule.updated_at),
    )


def rule_input_from_proto(rule: pb.InvoiceRule, company_id: str) -> InvoiceRuleInput:
    """The rule as sent; a template of another company is refused as unknown."""
    trigger = next((t.value for t, p in _TRIGGERS.items() if p == rule.trigger), "")
    template_id = ""
    if rule.template:
        company, template_id = parse_template_name(rule.template, "rule.template")
        if company != company_id:
            raise InvalidValueError.of(
                "rule.template", MessageCode.UNKNOWN_TEMPLATE, value=rule.template[:80]
            )
    return InvoiceRuleInput(
        trigger=trigger or "unspecified",
        stage_id=rule.stage_id,
        pipeline_id=rule.pipeline_id,
        template_id=template_id,
        enabled=rule.enabled,
    )


def run_to_proto(run: RuleRun) -> pb.InvoiceRuleRun:
    code = next((c for c in MessageCode if c.value == run.failure_code), None)
    return pb.InvoiceRuleRun(
        name=rule_run_name(run.company_id, run.deal_id, run.rule_id),
        rule=rule_name(run.company_id, run.rule_id),
        state=_STATES[run.state],
        invoice=invoice_name(run.company_id, run.deal_id, run.invoice_id) if run.invoice_id else "",
        failure_code=run.failure_code or "",
        failure_params=dict(run.failure_params),
        failure_message=english(code, run.failure_params) if code else "",
        attempt=run.attempt,
        create_time=timestamp(run.created_at),
        update_time=timestamp(run.updated_at),
    )
