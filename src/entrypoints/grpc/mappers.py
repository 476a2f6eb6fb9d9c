"""proto <-> application DTOs and domain values. Nothing else happens here."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from application.commands import (
    DealTimelineInput,
    DueDatePolicyInput,
    FieldSourceInput,
    SettingsInput,
)
from application.views import SettingsView
from dealbooks.v1 import customer_pb2, field_mapping_pb2, settings_pb2
from domain.due_date_policy import DueDateRule
from domain.field_mapping import FieldSource, InvoiceField, SourceEntity
from domain.permissions import Action
from domain.timeline import EntryKind, Milestone
from entrypoints.grpc.names import settings_name

ENTITY_TO_PROTO = {
    SourceEntity.ORGANIZATION: field_mapping_pb2.SOURCE_ENTITY_ORGANIZATION,
    SourceEntity.PERSON: field_mapping_pb2.SOURCE_ENTITY_PERSON,
    SourceEntity.DEAL: field_mapping_pb2.SOURCE_ENTITY_DEAL,
}
_ENTITY_FROM_PROTO: dict[int, str] = {v: k.value for k, v in ENTITY_TO_PROTO.items()}
_RULE_TO_PROTO = {
    DueDateRule.DAYS_AFTER_ISSUE: customer_pb2.DUE_DATE_RULE_DAYS_AFTER_ISSUE,
    DueDateRule.END_OF_MONTH: customer_pb2.DUE_DATE_RULE_END_OF_MONTH,
    DueDateRule.END_OF_NEXT_MONTH: customer_pb2.DUE_DATE_RULE_END_OF_NEXT_MONTH,
    DueDateRule.DAYS_AFTER_END_OF_MONTH: customer_pb2.DUE_DATE_RULE_DAYS_AFTER_END_OF_MONTH,
    DueDateRule.DAY_OF_NEXT_MONTH: customer_pb2.DUE_DATE_RULE_DAY_OF_NEXT_MONTH,
    DueDateRule.QUICKBOOKS_TERM: customer_pb2.DUE_DATE_RULE_QUICKBOOKS_TERM,
}
_RULE_FROM_PROTO: dict[int, str] = {v: k.value for k, v in _RULE_TO_PROTO.items()}
_MILESTONE_TO_PROTO = {
    Milestone.CREATED: settings_pb2.INVOICE_MILESTONE_CREATED,
    Milestone.SENT: settings_pb2.INVOICE_MILESTONE_SENT,
    Milestone.PARTIALLY_PAID: settings_pb2.INVOICE_MILESTONE_PARTIALLY_PAID,
    Milestone.PAID: settings_pb2.INVOICE_MILESTONE_PAID,
    Milestone.OVERDUE: settings_pb2.INVOICE_MILESTONE_OVERDUE,
    Milestone.VOIDED: settings_pb2.INVOICE_MILESTONE_VOIDED,
    Milestone.DELETED: settings_pb2.INVOICE_MILESTONE_DELETED,
}
_MILESTONE_FROM_PROTO: dict[int, str] = {v: k.value for k, v in _MILESTONE_TO_PROTO.items()}
_ENTRY_KIND_TO_PROTO = {
    EntryKind.NOTE: settings_pb2.TIMELINE_ENTRY_KIND_NOTE,
    EntryKind.ACTIVITY: settings_pb2.TIMELINE_ENTRY_KIND_ACTIVITY,
}
_ENTRY_KIND_FROM_PROTO: dict[int, str] = {
    settings_pb2.TIMELINE_ENTRY_KIND_UNSPECIFIED: EntryKind.NOTE.value,
    **{v: k.value for k, v in _ENTRY_KIND_TO_PROTO.items()},
}
_ACTION_TO_PROTO = {
    Action.CREATE: settings_pb2.INVOICE_ACTION_CREATE,
    Action.SEND: settings_pb2.INVOICE_ACTION_SEND,
    Action.VOID: settings_pb2.INVOICE_ACTION_VOID,
    Action.DELETE: settings_pb2.INVOICE_ACTION_DELETE,
}
_ACTION_FROM_PROTO: dict[int, str] = {v: k.value for k, v in _ACTION_TO_PROTO.items()}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """As ``Timestamp.FromDatetime`` (a naive value is UTC), in integer arithmetic: the library's
    version costs more than all the other fields of an invoice."""
    if value is None:
        return None
    delta = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)) - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000
    )


def _from_proto(table: dict[int, str], number: int) -> str:
    """Our value for a proto enum number; an unknown one is named so that validation says so."""
    return table.get(number) or ("unspecified" if number == 0 else f"unknown ({number})")


def field_source_to_proto(source: FieldSource | None) -> field_mapping_pb2.FieldSource | None:
    if source is None:
        return None
    return field_mapping_pb2.FieldSource(
        entity=ENTITY_TO_PROTO[source.entity], field_key=source.field_key
    )


def field_source_from_proto(
    mapping: field_mapping_pb2.FieldMapping, field: str
) -> FieldSourceInput | None:
    if not mapping.HasField(field):
        return None
    source: field_mapping_pb2.FieldSource = getattr(mapping, field)
    if source.entity == 0 and not source.field_key:
        return None  # an empty source, `{}` in JSON, means "not mapped"
    entity = _from_proto(_ENTITY_FROM_PROTO, source.entity)
    return FieldSourceInput(entity=entity, field_key=source.field_key)


def settings_to_proto(view: SettingsView) -> settings_pb2.Settings:
    s, policy = view.settings, view.settings.due_date_policy
    mapping = field_mapping_pb2.FieldMapping(
        **{f.value: field_source_to_proto(s.field_mapping.source_for(f)) for f in InvoiceField}
    )
    return settings_pb2.Settings(
        name=settings_name(s.company_id),
        field_mapping=mapping,
        due_date_policy=customer_pb2.DueDatePolicy(
            rule=_RULE_TO_PROTO[policy.rule], days=policy.days, day_of_month=policy.day_of_month
        ),
        copy_customer_details=s.copy_customer_details,
        default_currency=s.default_currency or "",
        default_tax_code=s.default_tax_code or "",
        default_terms=s.default_terms or "",
        default_item=s.default_item or "",
        etag=view.etag,
        update_time=None if view.is_default else timestamp(s.updated_at),
        deal_timeline=settings_pb2.DealTimeline(
            milestones=[_MILESTONE_TO_PROTO[m] for m in Milestone if s.timeline.wants(m)],
            language_code=s.timeline.language.value,
            entry_kind=_ENTRY_KIND_TO_PROTO[s.timeline.entry_kind],
        ),
        invoice_permissions=settings_pb2.InvoicePermissions(
            admins_only=[_ACTION_TO_PROTO[a] for a in Action if a in s.permissions.admins_only],
            permission_set_grants=[
                settings_pb2.InvoicePermissions.PermissionSetGrant(
                    action=_ACTION_TO_PROTO[a],
                    permission_set_ids=sorted(s.permissions.sets_for(a)),
                )
                for a in Action
                if s.permissions.sets_for(a)
            ],
        ),
    )


def settings_input_from_proto(message: settings_pb2.Settings) -> SettingsInput:
    mapping = message.field_mapping
    policy: DueDatePolicyInput | None = None
    if message.HasField("due_date_policy"):
        p = message.due_date_policy
        rule = _from_proto(_RULE_FROM_PROTO, p.rule)
        policy = DueDatePolicyInput(rule=rule, days=p.days, day_of_month=p.day_of_month)
    return SettingsInput(
        **{f.value: field_source_from_proto(mapping, f.value) for f in InvoiceField},
        due_date_policy=policy,
        copy_customer_details=message.copy_customer_details,
        default_currency=message.default_currency,
        default_tax_code=message.default_tax_code,
        default_terms=message.default_terms,
        default_item=message.default_item,
        deal_timeline=DealTimelineInput(
            milestones=tuple(
                _from_proto(_MILESTONE_FROM_PROTO, m) for m in message.deal_timeline.milestones
            ),
            language=message.deal_timeline.language_code,
            entry_kind=_from_proto(_ENTRY_KIND_FROM_PROTO, message.deal_timeline.entry_kind),
        )
        if message.HasField("deal_timeline")
        else None,
        invoice_permissions=tuple(
            _from_proto(_ACTION_FROM_PROTO, a) for a in message.invoice_permissions.admins_only
        ),
        invoice_permission_sets=tuple(
            (_from_proto(_ACTION_FROM_PROTO, g.action), tuple(g.permission_set_ids))
            for g in message.invoice_permissions.permission_set_grants
        ),
    )
