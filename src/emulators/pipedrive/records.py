"""Render records for API v2 and webhooks v2, and apply v2-style PATCH bodies to them."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from .clock import v2_time
from .model import (
    VISIBLE_TO,
    ValidationError,
    _check_date,
    _contact_items,
    _is_number,
    _type_name,
    check_custom_fields,
    normalize_address,
    products_of,
)
from .store import Record, Store

# `include_fields` values per entity (from the v2 spec's parameter enums).
INCLUDE_FIELDS: dict[str, tuple[str, ...]] = {
    "deal": (
        "next_activity_id",
        "last_activity_id",
        "first_won_time",
        "products_count",
        "files_count",
        "notes_count",
        "followers_count",
        "email_messages_count",
        "activities_count",
        "done_activities_count",
        "undone_activities_count",
        "participants_count",
        "last_incoming_mail_time",
        "last_outgoing_mail_time",
        "smart_bcc_email",
        "source_lead_id",
    ),
    "organization": (
        "next_activity_id",
        "last_activity_id",
        "open_deals_count",
        "related_open_deals_count",
        "closed_deals_count",
        "related_closed_deals_count",
        "email_messages_count",
        "people_count",
        "activities_count",
        "done_activities_count",
        "undone_activities_count",
        "files_count",
        "notes_count",
        "followers_count",
        "won_deals_count",
        "related_won_deals_count",
        "lost_deals_count",
        "related_lost_deals_count",
        "smart_bcc_email",
    ),
    "person": (
        "next_activity_id",
        "last_activity_id",
        "open_deals_count",
        "related_open_deals_count",
        "closed_deals_count",
        "related_closed_deals_count",
        "participant_open_deals_count",
        "participant_closed_deals_count",
        "email_messages_count",
        "activities_count",
        "done_activities_count",
        "undone_activities_count",
        "files_count",
        "notes_count",
        "followers_count",
        "won_deals_count",
        "related_won_deals_count",
        "lost_deals_count",
        "related_lost_deals_count",
        "last_incoming_mail_time",
        "last_outgoing_mail_time",
        "marketing_status",
        "doi_status",
        "smart_bcc_email",
    ),
}


def parse_include_fields(entity: str, raw: str | None) -> list[str]:
    if not raw:
        return []
    requested = [part.strip() for part in raw.split(",") if part.strip()]
    for name in requested:
        if name not in INCLUDE_FIELDS[entity]:
            raise ValidationError(f"include_fields: Invalid enum value '{name}'")
    return requested


def parse_custom_field_keys(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if len(keys) > 15:
        raise ValidationError("custom_fields: At most 15 custom field keys are allowed")
    return keys


def _optional_value(store: Store, entity: str, record: Record, name: str) -> Any:
    company = store.companies[record.company_id]
    record_id = record.data["id"]
    if name == "smart_bcc_email":
        return f"{company.domain}+{entity}{record_id}@pipedrivemail.com"
    if name == "products_count":
        return len(products_of(store, record_id))
    if name == "notes_count":
        key = {"deal": "deal_id", "organization": "org_id", "person": "person_id"}[entity]
        return sum(1 for n in store.notes.values() if n.data.get(key) == record_id)
    if name == "people_count":
        return sum(
            1
            for p in store.persons.values()
            if p.company_id == record.company_id and p.data["org_id"] == record_id
        )
    if name in ("open_deals_count", "won_deals_count", "lost_deals_count", "closed_deals_count"):
        key = "org_id" if entity == "organization" else "person_id"
        status = name.split("_")[0]
        statuses = ("won", "lost") if status == "closed" else (status,)
        return sum(
            1
            for d in store.deals.values()
            if d.data.get(key) == record_id and d.data["status"] in statuses
        )
    if name == "first_won_time":
        return record.data.get("won_time")
    if name == "source_lead_id":
        return record.data.get("source_lead_id")
    if name.endswith("_count"):
        return 0
    if name in ("marketing_status", "doi_status"):
        return None
    return None


def _option_label(definition_options: list[dict[str, Any]] | None, option_id: Any) -> Any:
    for option in definition_options or []:
        if option["id"] == option_id:
            return {"id": option_id, "label": option["label"]}
    return {"id": option_id, "label": None}


def render_record(
    store: Store,
    entity: str,
    record: Record,
    *,
    include_fields: list[str] | None = None,
    custom_field_keys: list[str] | None = None,
    include_option_labels: bool = False,
) -> dict[str, Any]:
    """The record as API v2 serves it (`GET /api/v2/{deals,organizations,persons}/{id}`)."""
    data = copy.deepcopy(record.data)
    custom = data["custom_fields"]
    if custom_field_keys is not None:
        custom = {k: v for k, v in custom.items() if k in custom_field_keys}
    if include_option_labels:
        for definition in store.custom_fields(record.company_id, entity):
            value = custom.get(definition.key)
            if value is None:
                continue
            if definition.field_type == "enum":
                custom[definition.key] = _option_label(definition.data["options"], value)
            elif definition.field_type == "set":
                custom[definition.key] = [
                    _option_label(definition.data["options"], item) for item in value
                ]
    data["custom_fields"] = custom
    for name in include_fields or []:
        data[name] = _optional_value(store, entity, record, name)
    return data


# --------------------------------------------------------------------------- webhooks v2 shapes

_WEBHOOK_DEAL_KEYS = (
    "add_time",
    "channel",
    "channel_id",
    "close_time",
    "creator_user_id",
    "currency",
    "custom_fields",
    "expected_close_date",
    "first_won_time",
    "id",
    "label_ids",
    "lost_reason",
    "lost_time",
    "org_id",
    "origin",
    "origin_id",
    "owner_id",
    "person_id",
    "pipeline_id",
    "probability",
    "stage_change_time",
    "stage_id",
    "status",
    "title",
    "update_time",
    "value",
    "visible_to",
    "won_time",
)


def typed_custom_value(field_type: str, value: Any) -> Any:
    """Webhooks v2 wrap each custom field value in an object with a `type` (reference §7)."""
    if value is None:
        return None
    if field_type == "monetary":
        return {"type": "monetary", "value": value["value"], "currency": value["currency"]}
    if field_type == "address":
        return {**{k: ("" if v is None else v) for k, v in value.items()}, "type": "address"}
    if field_type == "enum":
        return {"id": value, "type": "enum"}
    if field_type == "set":
        return {"values": [{"id": item} for item in value], "type": "set"}
    if field_type == "daterange":
        return {"type": "daterange", **value}
    # Scalar types: same wrapping convention ([U] beyond the documented examples).
    return {"type": field_type, "value": value}


def webhook_entity(
    store: Store,
    entity: str,
    record_data: dict[str, Any],
    company_id: int,
    *,
    changed_only: bool = False,
) -> Any:
    """The trimmed entity put in webhook v2 `data` / `previous` (A6). ``changed_only``: a
    change's `previous`, which holds "only changed fields" (reference §9), so nothing is added
    to it that did not change."""
    data = copy.deepcopy(record_data)
    types = {f.key: f.field_type for f in store.custom_fields(company_id, entity)}
    if "custom_fields" in data:
        data["custom_fields"] = {
            key: typed_custom_value(types.get(key, "varchar"), value)
            for key, value in data["custom_fields"].items()
        }
    if entity == "deal":
        if not changed_only or "won_time" in data:
            data["first_won_time"] = data.get("won_time")
        data = {k: data[k] for k in _WEBHOOK_DEAL_KEYS if k in data}
    if "visible_to" in data and data["visible_to"] is not None:
        data["visible_to"] = str(data["visible_to"])  # still a string in webhooks v2 (A6)
    return data


# --------------------------------------------------------------------------- updates

_DEAL_WRITABLE = {
    "title",
    "owner_id",
    "person_id",
    "org_id",
    "pipeline_id",
    "stage_id",
    "value",
    "currency",
    "is_deleted",
    "is_archived",
    "archive_time",
    "status",
    "probability",
    "lost_reason",
    "visible_to",
    "close_time",
    "won_time",
    "lost_time",
    "expected_close_date",
    "label_ids",
    "custom_fields",
}
_ORG_WRITABLE = {"name", "owner_id", "address", "visible_to", "label_ids", "custom_fields"}
_PERSON_WRITABLE = {
    "name",
    "owner_id",
    "org_id",
    "emails",
    "phones",
    "visible_to",
    "label_ids",
    "custom_fields",
}
WRITABLE = {"deal": _DEAL_WRITABLE, "organization": _ORG_WRITABLE, "person": _PERSON_WRITABLE}


def _expect(name: str, value: Any, kind: str, *, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    ok = {
        "string": isinstance(value, str),
        "number": _is_number(value),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
    }[kind]
    if not ok:
        raise ValidationError(f"{name}: Expected {kind}, received {_type_name(value)}")


def _check_reference(store: Store, company_id: int, name: str, value: Any) -> None:
    if value is None:
        return
    _expect(name, value, "integer")
    if name == "owner_id":
        user = store.users.get(value)
        if user is None or user.company_id != company_id:
            raise ValidationError(f"{name}: User with id {value} does not exist")
        return
    entity = {"person_id": "person", "org_id": "organization"}[name]
    if store.get_record(entity, company_id, value) is None:
        raise ValidationError(f"{name}: {entity.capitalize()} with id {value} does not exist")


def validate_patch(store: Store, entity: str, company_id: int, body: Any) -> dict[str, Any]:
    """Check a v2 PATCH body strictly (v2 does not coerce types); return the normalised changes."""
    if not isinstance(body, dict):
        raise ValidationError("body: Expected object")
    unknown = set(body) - WRITABLE[entity]
    if unknown:
        raise ValidationError(f"Unrecognized key(s) in object: {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name in ("title", "name"):
            _expect(name, value, "string")
            if not value.strip():
                raise ValidationError(f"{name}: String must contain at least 1 character(s)")
        elif name in ("owner_id", "person_id", "org_id"):
            if name == "owner_id" and value is None:
                raise ValidationError("owner_id: Expected number, received null")
            _check_reference(store, company_id, name, value)
        elif name == "pipeline_id":
            _expect(name, value, "integer")
            if store.get_pipeline(company_id, value) is None:
                # [U] wording, after the other references' "... with id N does not exist".
                raise ValidationError(f"pipeline_id: Pipeline with id {value} does not exist")
        elif name == "stage_id":
            _expect(name, value, "integer")
            if store.get_stage(company_id, value) is None:
                raise ValidationError(f"stage_id: Stage with id {value} does not exist")
        elif name == "value":
            _expect(name, value, "number")
        elif name == "currency":
            _expect(name, value, "string")
            if len(value) != 3 or not value.isalpha() or not value.isupper():
                raise ValidationError("currency: Invalid currency code")
        elif name in ("is_deleted", "is_archived"):
            _expect(name, value, "boolean")
        elif name == "status":
            if value not in ("open", "won", "lost"):
                raise ValidationError(
                    "status: Invalid enum value. Expected 'open' | 'won' | 'lost'"
                )
        elif name == "probability":
            _expect(name, value, "number", nullable=True)
        elif name in ("lost_reason", "archive_time", "close_time", "won_time", "lost_time"):
            _expect(name, value, "string", nullable=True)
        elif name == "expected_close_date":
            if value is not None:
                _check_date(name, value)
        elif name == "visible_to":
            if value not in VISIBLE_TO or isinstance(value, bool):
                raise ValidationError("visible_to: Invalid enum value. Expected 1 | 3 | 5 | 7")
        elif name == "label_ids":
            _expect(name, value, "array")
            for item in value:
                _expect("label_ids[]", item, "integer")
        elif name == "address":
            value = normalize_address(value)
        elif name in ("emails", "phones"):
            value = _contact_items(value, name)
        elif name == "custom_fields":
            value = check_custom_fields(store, company_id, entity, value)
        changes[name] = value
    if entity == "deal" and "stage_id" in changes:
        # "A pipeline will be assigned automatically based on the `stage_id`" (addDeal, [C]);
        # the same on update, the stage winning over a `pipeline_id` that disagrees ([U]).
        stage = store.get_stage(company_id, changes["stage_id"])
        assert stage is not None
        changes["pipeline_id"] = stage.data["pipeline_id"]
    return changes


def apply_changes(
    record: Record, entity: str, changes: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Apply validated changes; return `previous` (old values of the fields that changed)."""
    data = record.data
    previous: dict[str, Any] = {}

    def assign(key: str, value: Any) -> None:
        if data.get(key) != value:
            previous[key] = copy.deepcopy(data.get(key))
            data[key] = value

    for name, value in changes.items():
        if name == "custom_fields":
            old_custom: dict[str, Any] = {}
            for key, item in value.items():
                if data["custom_fields"].get(key) != item:
                    old_custom[key] = copy.deepcopy(data["custom_fields"].get(key))
                    data["custom_fields"][key] = item
            if old_custom:
                previous["custom_fields"] = old_custom
        elif name == "name" and entity == "person":
            assign("name", value)
            first, _, last = value.partition(" ")
            assign("first_name", first)
            assign("last_name", last)
        else:
            assign(name, value)
    stamp = v2_time(now)
    if entity == "deal" and "status" in previous:
        status = data["status"]
        assign("close_time", stamp if status in ("won", "lost") else None)
        assign("won_time", stamp if status == "won" else None)
        assign("lost_time", stamp if status == "lost" else None)
        data["local_won_date"] = stamp[:10] if status == "won" else None
        data["local_lost_date"] = stamp[:10] if status == "lost" else None
        data["local_close_date"] = stamp[:10] if status in ("won", "lost") else None
    if entity == "deal" and "stage_id" in previous:
        assign("stage_change_time", stamp)
    if entity == "deal" and "is_archived" in previous:
        assign("archive_time", stamp if data["is_archived"] else None)
    if previous:
        # `previous` lists only the fields that changed (A6 carries no `update_time` in it).
        data["update_time"] = stamp
    return previous
