"""proto <-> invoice templates. Nothing else happens here."""

from __future__ import annotations

from collections.abc import Sequence

from application.commands import FieldSourceInput, TemplateCustomFieldInput, TemplateInput
from application.templates import template_etag
from dealbooks.v1 import invoice_template_pb2 as pb
from domain.invoice_template import CustomFieldValue, InvoiceTemplate
from entrypoints.grpc.mappers import (
    ENTITY_TO_PROTO,
    field_source_to_proto,
    timestamp,
)
from entrypoints.grpc.names import template_name

_ENTITY_FROM_PROTO: dict[int, str] = {v: k.value for k, v in ENTITY_TO_PROTO.items()}


def template_to_proto(
    template: InvoiceTemplate, values: Sequence[CustomFieldValue] | None = None
) -> pb.InvoiceTemplate:
    """The template; with ``values`` (a draft's), each custom field's value for the deal."""
    resolved = {v.definition_id: v.value for v in values or ()}
    return pb.InvoiceTemplate(
        name=template_name(template.company_id, template.id),
        display_name=template.name,
        default=template.is_default,
        terms_id=template.terms_id or "",
        customer_memo=template.customer_memo,
        private_note=template.private_note,
        tax_code_id=template.tax_code_id or "",
        item_id=template.item_id or "",
        custom_fields=[
            pb.TemplateCustomField(
                definition_id=cf.definition_id,
                value=resolved.get(cf.definition_id, "") if values is not None else cf.value,
                source=field_source_to_proto(cf.source),
            )
            for cf in template.custom_fields
            if values is None or cf.definition_id in resolved
        ],
        bill_email_cc=template.bill_email_cc,
        bill_email_bcc=template.bill_email_bcc,
        allow_online_credit_card_payment=template.allow_online_card,
        allow_online_ach_payment=template.allow_online_ach,
        etag=template_etag(template),
        update_time=timestamp(template.updated_at),
        class_id=template.class_id or "",
        location_id=template.location_id or "",
    )


def template_input_from_proto(message: pb.InvoiceTemplate) -> TemplateInput:
    fields = []
    for cf in message.custom_fields:
        source = None
        if cf.HasField("source") and (cf.source.entity or cf.source.field_key):
            entity = _ENTITY_FROM_PROTO.get(cf.source.entity) or f"unknown ({cf.source.entity})"
            source = FieldSourceInput(entity=entity, field_key=cf.source.field_key)
        fields.append(TemplateCustomFieldInput(cf.definition_id, cf.value, source))
    return TemplateInput(
        display_name=message.display_name,
        is_default=message.default,
        terms_id=message.terms_id,
        customer_memo=message.customer_memo,
        private_note=message.private_note,
        tax_code_id=message.tax_code_id,
        item_id=message.item_id,
        custom_fields=tuple(fields),
        bill_email_cc=message.bill_email_cc,
        bill_email_bcc=message.bill_email_bcc,
        allow_online_card=message.allow_online_credit_card_payment,
        allow_online_ach=message.allow_online_ach_payment,
        class_id=message.class_id,
        location_id=message.location_id,
    )
