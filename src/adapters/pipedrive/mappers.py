"""Pipedrive's JSON (API v2 entities, API v1 users/notes/webhooks) <-> domain terms, as pure
functions: the reference's verbatim payloads are tested without a server.

The snapshot handed to the field mapping is keyed by Pipedrive field keys: standard keys
(``title``, ``value``, ``name``, ``address`` ...; a person's primary email and phone under
``email`` and ``phone``) and the 40-character custom keys, read by their declared type.

Mapping is tolerant of missing keys and nulls and strict about types: a core value of the wrong
type raises PayloadError (the gateway's ``PIPEDRIVE_BAD_RESPONSE``); a custom value that does
not fit its field's type is left out (None) and logged, so one odd custom field does not make a
deal unreadable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final, TypeVar, cast

import structlog

from adapters.pipedrive.payloads import (
    AddressObject,
    ContactItem,
    DealDiscountPayload,
    DealPayload,
    DealProductPayload,
    FieldPayload,
    PipelinePayload,
    StagePayload,
    WebhookPayload,
)
from application.ports.crm import (
    ONE_TIME,
    CrmField,
    CrmPipeline,
    CrmStage,
    CrmWebhook,
    Deal,
    DealDiscount,
    DealProduct,
    WonDeal,
)
from domain.customer import Address
from domain.errors import InvalidValueError
from domain.field_mapping import DealSnapshot, FieldValue, SourceEntity
from domain.invoice_line import DiscountKind, TaxMethod

log = structlog.get_logger("dealbooks.pipedrive")

E = TypeVar("E", bound=Enum)

# Standard fields the settings can map, by field code (custom fields always can).
_MAPPABLE: Final[Mapping[SourceEntity, frozenset[str]]] = {
    SourceEntity.DEAL: frozenset({"title", "value", "status", "expected_close_date"}),
    SourceEntity.ORGANIZATION: frozenset({"name", "address", "website"}),
    SourceEntity.PERSON: frozenset(
        {"name", "first_name", "last_name", "emails", "email", "phones", "phone", "job_title"}
    ),
}
#: A person's primary email and phone are in the snapshot as ``email`` and ``phone``.
_SNAPSHOT_KEY: Final = {"emails": "email", "phones": "phone"}
_REFERENCE_TYPES: Final = frozenset({"user", "org", "people", "deal", "deals", "lead", "project"})


class PayloadError(ValueError):
    """Pipedrive sent a value of an unexpected type."""


# --------------------------------------------------------------------------- value readers


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PayloadError(f"{name} must be a number, not {type(value).__name__}")
    if isinstance(value, float):  # only when parsed without parse_float=Decimal
        return Decimal(repr(value))
    return Decimal(value)


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{name} must be text, not {type(value).__name__}")
    return value


def _date(value: Any, name: str) -> date | None:
    text = _text(value, name)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise PayloadError(f"{name} must be a date (YYYY-MM-DD)") from exc


def id_text(value: Any, name: str) -> str | None:
    """An integer id as text; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{name} must be an integer id")
    return str(value)


def _choice(kind: type[E], value: Any, name: str, default: str) -> E:
    """One of ``kind``'s values, ``default`` when absent."""
    try:
        return kind(_text(value, name) or default)
    except ValueError as exc:
        raise PayloadError(str(exc)) from exc


def address_from_payload(value: Any, name: str = "address") -> Address | None:
    """A v2 address object (or a bare string) -> Address; None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return Address(formatted=value) if value.strip() else None
    if not isinstance(value, dict):
        raise PayloadError(f"{name} must be an address object")
    parts = cast(AddressObject, value)
    text: dict[str, str] = {}
    for key in AddressObject.__annotations__:
        raw = parts.get(key)
        text[key] = (_text(raw, f"{name}.{key}") or "").strip()
    number, route = text["street_number"], text["route"]
    formatted = text["formatted_address"] or text["value"]
    # The street name before the number where the address reads so ("Friedrichstraße 68").
    street = (route, number) if route and formatted.startswith(route) else (number, route)
    try:
        address = Address(
            line1=" ".join(part for part in street if part),
            line2=text["subpremise"],
            city=text["locality"] or text["sublocality"] or text["admin_area_level_2"],
            region=text["admin_area_level_1"],
            postal_code=text["postal_code"],
            country=text["country"],
            formatted=formatted,
        )
    except InvalidValueError as exc:
        raise PayloadError(f"{name}: {exc}") from exc
    return None if address.is_empty() else address


def primary_item(items: Any, name: str) -> str | None:
    """The ``primary`` item's value of a v2 ``emails``/``phones`` list, else the first one."""
    if items is None:
        return None
    if not isinstance(items, list):
        raise PayloadError(f"{name} must be a list")
    values: list[tuple[bool, str]] = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadError(f"{name} items must be objects")
        entry = cast(ContactItem, item)
        text = _text(entry.get("value"), f"{name}.value")
        if text and text.strip():
            values.append((entry.get("primary") is True, text.strip()))
    values.sort(key=lambda value: not value[0])  # the primary ones first, in their order
    return values[0][1] if values else None


def _option_labels(definition: FieldPayload | None) -> dict[int, str]:
    options = (definition or {}).get("options") or []
    return {
        o["id"]: o["label"]
        for o in options
        if isinstance(o, dict) and isinstance(o.get("id"), int) and isinstance(o.get("label"), str)
    }


def _option_label(value: Any, labels: Mapping[int, str], name: str) -> str:
    if isinstance(value, dict):  # include_option_labels=true shape: {"id", "label"}
        label = value.get("label")
        if isinstance(label, str):
            return label
        value = value.get("id")
    if isinstance(value, str) and value.isdigit():  # v1 style "123"
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{name} must be an option id")
    if value not in labels:
        raise PayloadError(f"{name}: option {value} is not among the field's options")
    return labels[value]


Reader = Callable[[Any, str], FieldValue]
# Each entity's standard values by payload key.
_STANDARD: Final[Mapping[SourceEntity, Mapping[str, Reader]]] = {
    SourceEntity.DEAL: {
        "title": _text,
        "value": _decimal,
        "currency": _text,
        "status": _text,
        "expected_close_date": _date,
    },
    SourceEntity.ORGANIZATION: {"name": _text, "address": address_from_payload, "website": _text},
    SourceEntity.PERSON: {
        "name": _text,
        "first_name": _text,
        "last_name": _text,
        "emails": primary_item,
        "phones": primary_item,
        "job_title": _text,
    },
}
# Custom field types read by one reader; the others are read in _custom_value.
_SIMPLE_READERS: Final[Mapping[str, Reader]] = {
    "address": address_from_payload,
    "date": _date,
    **dict.fromkeys(("varchar", "varchar_auto", "varchar_options", "text", "phone"), _text),
    **dict.fromkeys(("double", "int"), _decimal),
}


def custom_values(
    custom_fields: Any, definitions: Mapping[str, FieldPayload], entity: SourceEntity
) -> dict[str, FieldValue]:
    """``custom_fields`` of a v2 entity -> snapshot values, read by each field's type."""
    if custom_fields is None:
        return {}
    if not isinstance(custom_fields, dict):
        raise PayloadError("custom_fields must be an object")
    values: dict[str, FieldValue] = {}
    for key, raw in custom_fields.items():
        definition = definitions.get(key)
        field_type = (definition or {}).get("field_type") or _guess_type(raw)
        try:
            values.update(_custom_value(key, field_type, raw, definition))
        except PayloadError as exc:
            log.warning(
                "pipedrive.field_value_ignored",
                entity=entity.value,
                field_key=key,
                field_type=field_type,
                problem=str(exc),
            )
            values[key] = None
    return values


def _guess_type(raw: Any) -> str:
    if isinstance(raw, dict):
        if "currency" in raw:
            return "monetary"
        if "until" in raw:
            return "daterange"
        return "address" if {"route", "locality", "country"} & set(raw) else "unknown"
    if isinstance(raw, bool):
        return "unknown"
    if isinstance(raw, int | float | Decimal):
        return "double"
    return "varchar" if isinstance(raw, str) else "unknown"


def _custom_value(
    key: str, field_type: str, raw: Any, definition: FieldPayload | None
) -> dict[str, FieldValue]:
    if field_type == "monetary":
        if raw is None:
            return {key: None, f"{key}_currency": None}
        if not isinstance(raw, dict):
            raise PayloadError("a monetary value must be an object {value, currency}")
        return {
            key: _decimal(raw.get("value"), key),
            f"{key}_currency": _text(raw.get("currency"), f"{key}_currency"),
        }
    if raw is None:
        return {key: None}
    if field_type in _SIMPLE_READERS:
        return {key: _SIMPLE_READERS[field_type](raw, key)}
    if field_type == "enum":
        return {key: _option_label(raw, _option_labels(definition), key)}
    if field_type == "set":
        if not isinstance(raw, list):
            raise PayloadError("a set value must be a list of option ids")
        labels = _option_labels(definition)
        return {key: ", ".join(_option_label(v, labels, key) for v in raw) or None}
    if field_type in ("daterange", "time", "timerange"):
        if not isinstance(raw, dict):
            raise PayloadError(f"a {field_type} value must be an object")
        if field_type == "daterange":
            return {
                key: _date(raw.get("value"), key),
                f"{key}_until": _date(raw.get("until"), key),
            }
        return {key: _text(raw.get("value"), key)}
    if field_type in _REFERENCE_TYPES:
        if isinstance(raw, dict):
            raw = raw.get("value", raw.get("id"))
        return {key: str(id_text(raw, key))}
    if isinstance(raw, str):
        return {key: raw}
    if isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        return {key: Decimal(raw)}
    raise PayloadError(f"values of type {field_type!r} are not read")


# --------------------------------------------------------------------------- entities


def _values(
    entity: SourceEntity,
    data: Mapping[str, object],
    fields: Mapping[SourceEntity, Sequence[FieldPayload]],
) -> dict[str, FieldValue]:
    """An entity's standard values and its custom ones, read by their field definitions."""
    definitions = {
        d["field_code"]: d for d in fields.get(entity, ()) if isinstance(d.get("field_code"), str)
    }
    standard = {
        _SNAPSHOT_KEY.get(code, code): read(data.get(code), code)
        for code, read in _STANDARD[entity].items()
    }
    return {**standard, **custom_values(data.get("custom_fields"), definitions, entity)}


def product_from_payload(data: DealProductPayload) -> DealProduct:
    quantity = _decimal(data.get("quantity"), "quantity")
    return DealProduct(
        product_id=id_text(data.get("product_id"), "product_id") or "",
        name=_text(data.get("name"), "name") or "",
        quantity=Decimal(1) if quantity is None else quantity,
        unit_price=_decimal(data.get("item_price"), "item_price") or Decimal(0),
        discount=_decimal(data.get("discount"), "discount") or Decimal(0),
        discount_kind=_choice(
            DiscountKind, data.get("discount_type"), "discount_type", "percentage"
        ),
        tax_rate=_decimal(data.get("tax"), "tax") or Decimal(0),
        tax_method=_choice(TaxMethod, data.get("tax_method"), "tax_method", "none"),
        comments=_text(data.get("comments"), "comments") or "",
        sum=_decimal(data.get("sum"), "sum"),
        # Read leniently: it only feeds a warning, and a value of another shape must not make
        # the whole deal unreadable.
        billing_frequency=_frequency(data.get("billing_frequency")),
    )


def _frequency(value: object) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else ONE_TIME


def discount_from_payload(data: DealDiscountPayload) -> DealDiscount:
    return DealDiscount(
        description=_text(data.get("description"), "description") or "",
        amount=_decimal(data.get("amount"), "amount") or Decimal(0),
        kind=_choice(DiscountKind, data.get("type"), "type", "amount"),
    )


def is_deleted(data: Mapping[str, Any]) -> bool:
    return data.get("is_deleted") is True or data.get("status") == "deleted"


def deal_value_of(deal: Mapping[str, Any]) -> tuple[Decimal, str]:
    """The deal's value and currency from its v2 payload (raises PayloadError on wrong types)."""
    value = _decimal(deal.get("value"), "value")
    return value if value is not None else Decimal(0), _text(deal.get("currency"), "currency") or ""


def won_deal_of(deal: Mapping[str, Any]) -> WonDeal | None:
    """A deal of ``GET /api/v2/deals?status=won``; None unless it is won, with its won time
    (RFC 3339 in v2, e.g. ``2021-01-01T00:00:00Z``; raises PayloadError on wrong types)."""
    deal_id = id_text(deal.get("id"), "id")
    won = _text(deal.get("won_time"), "won_time")
    if deal_id is None or not won or deal.get("status") != "won" or deal.get("is_deleted"):
        return None
    try:
        won_time = datetime.fromisoformat(won.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise PayloadError(f"won_time: not a time: {won!r}") from None
    if won_time.tzinfo is None:  # v1's "2019-11-27 11:40:36" is UTC
        won_time = won_time.replace(tzinfo=UTC)
    value, currency = deal_value_of(deal)
    title = _text(deal.get("title"), "title") or ""
    return WonDeal(deal_id, title, value, currency, won_time)


def deal_from_payloads(
    deal: DealPayload,
    organization: Mapping[str, Any] | None,
    person: Mapping[str, Any] | None,
    products: Sequence[DealProductPayload],
    discounts: Sequence[DealDiscountPayload],
    fields: Mapping[SourceEntity, Sequence[FieldPayload]],
) -> Deal:
    """Pure: the vendor payloads of one deal -> Deal (raises PayloadError on wrong types)."""
    deal_id = id_text(deal.get("id"), "id")
    if deal_id is None:
        raise PayloadError("the deal has no id")
    deal_fields = _values(SourceEntity.DEAL, deal, fields)
    snapshot = DealSnapshot(
        deal=deal_fields,
        organization=(
            None
            if organization is None
            else _values(SourceEntity.ORGANIZATION, organization, fields)
        ),
        person=None if person is None else _values(SourceEntity.PERSON, person, fields),
    )
    value = deal_fields["value"]
    return Deal(
        id=deal_id,
        title=_text(deal.get("title"), "title") or "",
        currency=_text(deal.get("currency"), "currency") or "",
        value=value if isinstance(value, Decimal) else Decimal(0),
        organization_id=id_text(deal.get("org_id"), "org_id"),
        person_id=id_text(deal.get("person_id"), "person_id"),
        snapshot=snapshot,
        products=tuple(
            product_from_payload(p) for p in products if p.get("is_enabled") is not False
        ),
        discounts=tuple(discount_from_payload(d) for d in discounts),
        deleted=is_deleted(deal),
    )


def crm_fields_from_payloads(
    entity: SourceEntity, definitions: Sequence[FieldPayload]
) -> list[CrmField]:
    """Field definitions -> the fields the settings can map (custom ones and our standard keys)."""
    fields: dict[str, CrmField] = {}
    for definition in definitions:
        code = definition.get("field_code")
        name = definition.get("field_name")
        field_type = definition.get("field_type")
        if not isinstance(code, str) or not isinstance(field_type, str):
            continue
        is_custom = definition.get("is_custom_field") is True
        if not is_custom and code not in _MAPPABLE[entity]:
            continue
        key = code if is_custom else _SNAPSHOT_KEY.get(code, code)
        if key in fields:
            continue
        subfields = tuple(
            s["field_code"]
            for s in (definition.get("subfields") or [])
            if isinstance(s, dict) and isinstance(s.get("field_code"), str)
        )
        fields[key] = CrmField(
            entity=entity,
            key=key,
            name=name if isinstance(name, str) else key,
            field_type=field_type,
            is_custom=is_custom,
            subfields=subfields,
        )
    return list(fields.values())


def _order(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{name} must be an integer")
    return value


def pipelines_from_payloads(
    pipelines: Sequence[PipelinePayload], stages: Sequence[StagePayload]
) -> list[CrmPipeline]:
    """Pipelines (default first) with their stages in board order; deleted ones left out, and
    a stage of a pipeline not listed too (it went between the two reads)."""
    by_pipeline: dict[str, list[CrmStage]] = {}
    for stage in stages:
        if stage.get("is_deleted"):
            continue
        stage_id = id_text(stage.get("id"), "stage.id")
        pipeline_id = id_text(stage.get("pipeline_id"), "stage.pipeline_id")
        if stage_id is None or pipeline_id is None:
            raise PayloadError("a stage has no id or pipeline_id")
        name = _text(stage.get("name"), "stage.name") or stage_id
        order = _order(stage.get("order_nr", 0), "stage.order_nr")
        by_pipeline.setdefault(pipeline_id, []).append(CrmStage(stage_id, name, order))
    found: list[CrmPipeline] = []
    for pipeline in pipelines:
        if pipeline.get("is_deleted"):
            continue
        pipeline_id = id_text(pipeline.get("id"), "pipeline.id")
        if pipeline_id is None:
            raise PayloadError("a pipeline has no id")
        name = _text(pipeline.get("name"), "pipeline.name") or pipeline_id
        order = _order(pipeline.get("order_nr", 0), "pipeline.order_nr")
        own = sorted(by_pipeline.get(pipeline_id, []), key=lambda s: (s.order, int(s.id)))
        found.append(CrmPipeline(pipeline_id, name, order, tuple(own)))
    return sorted(found, key=lambda p: (p.order, int(p.id)))


def webhook_from_payload(data: WebhookPayload) -> CrmWebhook:
    webhook_id = id_text(data.get("id"), "id")
    if webhook_id is None:
        raise PayloadError("a webhook without an id")
    active = data.get("is_active")
    return CrmWebhook(
        event_action=_text(data.get("event_action"), "event_action") or "",
        event_object=_text(data.get("event_object"), "event_object") or "",
        url=_text(data.get("subscription_url"), "subscription_url") or "",
        http_auth_user=_text(data.get("http_auth_user"), "http_auth_user"),
        http_auth_password=_text(data.get("http_auth_password"), "http_auth_password"),
        version=_text(data.get("version"), "version") or "",
        name=_text(data.get("name"), "name") or "",
        # numberBooleanDefault1 in the spec (0 or 1); a boolean is read the same way.
        active=active is None or (active is not False and active != 0),
        id=webhook_id,
    )
