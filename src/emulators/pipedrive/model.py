"""Create, render, validate and change CRM records in their Pipedrive API v2 shapes."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date, datetime
from typing import Any

from .clock import v1_time, v2_time
from .store import (
    Company,
    DealProduct,
    Discount,
    FieldDef,
    Record,
    Store,
    User,
    custom_field_key,
)

ADDRESS_KEYS = (
    "value",
    "street_number",
    "route",
    "subpremise",
    "sublocality",
    "locality",
    "admin_area_level_1",
    "admin_area_level_2",
    "country",
    "postal_code",
    "formatted_address",
)
VISIBLE_TO = (1, 3, 5, 7)
DEAL_STATUSES = ("open", "won", "lost", "deleted")


class ValidationError(ValueError):
    """A request body or parameter the real API would reject with HTTP 400."""


class NotFound(LookupError):
    """A record that does not exist (or belongs to another company)."""


# --------------------------------------------------------------------------- companies, users


def new_company(store: Store, name: str, domain: str | None = None, **extra: Any) -> Company:
    company_id = store.next_id("company")
    slug = domain or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or f"company{company_id}"
    company = Company(id=company_id, name=name, domain=slug, **extra)
    store.companies[company_id] = company
    _add_standard_fields(store, company_id)
    return company


# Pipedrive's default pipeline for a new company ([U]: the name varies between accounts, the
# five stages are those of Pipedrive's sign-up board), and its stages' deal probabilities.
DEFAULT_PIPELINE = "Sales pipeline"
DEFAULT_STAGES = (
    ("Qualified", 10),
    ("Contact made", 20),
    ("Demo scheduled", 40),
    ("Proposal made", 60),
    ("Negotiations started", 80),
)


def add_pipeline(
    store: Store,
    company_id: int,
    now: datetime,
    name: str,
    stages: list[str] | tuple[str, ...],
    *,
    probabilities: list[int] | None = None,
) -> Record:
    """A pipeline and its stages (v2 `getPipelines`/`getStages` items), in board order."""
    pipeline_id = store.next_id("pipeline")
    stamp = v2_time(now)
    order = 1 + max((p.data["order_nr"] for p in store.company_pipelines(company_id)), default=-1)
    pipeline = Record(
        company_id=company_id,
        data={
            "id": pipeline_id,
            "name": name,
            "order_nr": order,
            "is_deleted": False,
            "is_deal_probability_enabled": False,
            "add_time": stamp,
            "update_time": stamp,
        },
    )
    store.pipelines[pipeline_id] = pipeline
    for position, stage_name in enumerate(stages):
        stage_id = store.next_id("stage")
        store.stages[stage_id] = Record(
            company_id=company_id,
            data={
                "id": stage_id,
                "order_nr": position + 1,
                "name": stage_name,
                "is_deleted": False,
                "deal_probability": probabilities[position] if probabilities else 100,
                "pipeline_id": pipeline_id,
                "is_deal_rot_enabled": False,
                "days_to_rotten": None,
                "add_time": stamp,
                "update_time": stamp,
            },
        )
    return pipeline


def add_default_pipeline(store: Store, company_id: int, now: datetime) -> Record:
    return add_pipeline(
        store,
        company_id,
        now,
        DEFAULT_PIPELINE,
        [name for name, _ in DEFAULT_STAGES],
        probabilities=[probability for _, probability in DEFAULT_STAGES],
    )


def new_user(
    store: Store,
    company: Company,
    now: datetime,
    *,
    name: str,
    email: str,
    is_admin: bool = False,
    locale: str = "en_US",
    timezone_name: str = "Europe/Berlin",
    timezone_offset: str = "+01:00",
    default_currency: str | None = None,
    api_token: str | None = None,
    visibility_group: str | None = None,
) -> User:
    user = User(
        id=store.next_id("user"),
        company_id=company.id,
        name=name,
        email=email,
        is_admin=is_admin,
        locale=locale,
        timezone_name=timezone_name,
        timezone_offset=timezone_offset,
        default_currency=default_currency or company.default_currency,
        api_token=api_token or secrets.token_hex(20),
        created=v1_time(now),
        visibility_group=visibility_group,
    )
    store.users[user.id] = user
    return user


# --------------------------------------------------------------------------- field definitions

_STANDARD_FIELDS: dict[str, list[tuple[str, str, str, list[tuple[str, str, str]] | None]]] = {
    # (field_code, field_name, field_type, subfields)
    "deal": [
        ("title", "Title", "varchar", None),
        (
            "value",
            "Value",
            "monetary",
            [("value", "Amount of Value", "double"), ("currency", "Currency of Value", "varchar")],
        ),
        ("org_id", "Organization", "org", None),
        ("person_id", "Contact person", "people", None),
        ("owner_id", "Owner", "user", None),
        ("stage_id", "Stage", "stage", None),
        ("status", "Status", "status", None),
        ("probability", "Probability", "double", None),
        ("expected_close_date", "Expected close date", "date", None),
        ("lost_reason", "Lost reason", "varchar", None),
        ("visible_to", "Visible to", "visible_to", None),
        ("label_ids", "Label", "set", None),
        ("add_time", "Deal created", "date", None),
        ("update_time", "Update time", "date", None),
        ("won_time", "Won time", "date", None),
        ("close_time", "Deal closed on", "date", None),
    ],
    "organization": [
        ("name", "Name", "varchar", None),
        ("owner_id", "Owner", "user", None),
        ("address", "Address", "address", None),  # subfields filled below
        ("label_ids", "Labels", "set", None),
        ("visible_to", "Visible to", "visible_to", None),
        ("website", "Website", "varchar", None),
        ("add_time", "Organization created", "date", None),
        ("update_time", "Update time", "date", None),
    ],
    "person": [
        ("name", "Name", "varchar", None),
        ("first_name", "First name", "varchar", None),
        ("last_name", "Last name", "varchar", None),
        ("emails", "Email", "varchar", None),
        ("phones", "Phone", "phone", None),
        ("org_id", "Organization", "org", None),
        ("owner_id", "Owner", "user", None),
        ("label_ids", "Labels", "set", None),
        ("visible_to", "Visible to", "visible_to", None),
        ("add_time", "Person created", "date", None),
        ("update_time", "Update time", "date", None),
    ],
}

# The field-definition subfields of an address field (the definition omits `sublocality`, §5).
_ADDRESS_SUBFIELDS = (
    ("subpremise", "Apartment/suite no"),
    ("street_number", "House number"),
    ("route", "Street/road name"),
    ("locality", "City/town/village/locality"),
    ("admin_area_level_1", "State/county"),
    ("admin_area_level_2", "Region"),
    ("country", "Country"),
    ("postal_code", "ZIP/Postal code"),
    ("formatted_address", "Full/combined address"),
)


def _subfields_for(name: str, field_type: str) -> list[dict[str, str]] | None:
    if field_type == "address":
        return [
            {"field_code": code, "field_name": f"{label} of {name}", "field_type": "varchar"}
            for code, label in _ADDRESS_SUBFIELDS
        ]
    if field_type == "monetary":
        return [
            {"field_code": "value", "field_name": f"Amount of {name}", "field_type": "double"},
            {
                "field_code": "currency",
                "field_name": f"Currency of {name}",
                "field_type": "varchar",
            },
        ]
    if field_type in ("daterange", "timerange"):
        return [
            {"field_code": "value", "field_name": f"Start of {name}", "field_type": "date"},
            {"field_code": "until", "field_name": f"End of {name}", "field_type": "date"},
        ]
    return None


def _field_data(
    code: str,
    name: str,
    field_type: str,
    *,
    custom: bool,
    options: list[dict[str, Any]] | None,
    subfields: list[dict[str, str]] | None,
    description: str | None,
) -> dict[str, Any]:
    return {
        "field_name": name,
        "field_code": code,
        "description": description,
        "field_type": field_type,
        "options": options,
        "subfields": subfields,
        "is_custom_field": custom,
        "is_optional_response_field": False,
        # Returned only when asked for with `include_fields=ui_visibility,...` (see api_v2).
        "ui_visibility": {
            "add_visible_flag": True,
            "details_visible_flag": True,
            "projects_detail_visible_flag": False,
            "show_in_pipelines": {"show_in_all": True, "pipeline_ids": []},
        },
        "important_fields": {"enabled": False, "stage_ids": []},
        "required_fields": {"enabled": False, "stage_ids": [], "statuses": {}},
    }


def _add_standard_fields(store: Store, company_id: int) -> None:
    for entity, specs in _STANDARD_FIELDS.items():
        for code, name, field_type, subfields in specs:
            sub = (
                _subfields_for(name, field_type)
                if subfields is None
                else [{"field_code": c, "field_name": n, "field_type": t} for c, n, t in subfields]
            )
            if field_type == "monetary" and subfields is None:
                sub = None
            store.fields.append(
                FieldDef(
                    company_id,
                    entity,
                    _field_data(
                        code,
                        name,
                        field_type,
                        custom=False,
                        options=[] if field_type == "set" else None,
                        subfields=sub,
                        description=None,
                    ),
                )
            )


CUSTOM_FIELD_TYPES = (
    "varchar",
    "varchar_auto",
    "text",
    "double",
    "int",
    "monetary",
    "address",
    "enum",
    "set",
    "date",
    "daterange",
    "phone",
    "user",
    "org",
    "people",
)


def add_custom_field(
    store: Store,
    company_id: int,
    entity: str,
    name: str,
    field_type: str,
    *,
    options: list[str] | list[dict[str, Any]] | None = None,
    key: str | None = None,
    description: str | None = None,
) -> FieldDef:
    if entity not in ("deal", "organization", "person"):
        raise ValidationError(f"unknown entity {entity!r}")
    if field_type not in CUSTOM_FIELD_TYPES:
        raise ValidationError(f"unsupported field_type {field_type!r}")
    parsed_options: list[dict[str, Any]] | None = None
    if field_type in ("enum", "set"):
        parsed_options = []
        for option in options or []:
            if isinstance(option, str):
                parsed_options.append({"id": store.next_id("option"), "label": option})
            else:
                item = {"id": option.get("id") or store.next_id("option"), "label": option["label"]}
                if option.get("color"):
                    item["color"] = option["color"]
                parsed_options.append(item)
    field_key = key or custom_field_key(company_id, entity, name, len(store.fields))
    definition = FieldDef(
        company_id,
        entity,
        _field_data(
            field_key,
            name,
            field_type,
            custom=True,
            options=parsed_options,
            subfields=_subfields_for(name, field_type),
            description=description,
        ),
    )
    store.fields.append(definition)
    # Existing records get the new (empty) custom field.
    for record in store.records(entity).values():
        if record.company_id == company_id:
            record.data["custom_fields"].setdefault(field_key, None)
    return definition


def render_field(definition: FieldDef, include: set[str]) -> dict[str, Any]:
    data = {
        k: v
        for k, v in definition.data.items()
        if k not in ("ui_visibility", "important_fields", "required_fields") or k in include
    }
    if data.get("description") is None:
        data.pop("description", None)
    return data


# --------------------------------------------------------------------------- value checking


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_date(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ValidationError(f"{name}: Expected string, received {_type_name(value)}")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"{name}: Invalid date, expected YYYY-MM-DD") from exc


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def normalize_address(value: Any, name: str = "address") -> dict[str, Any] | None:
    """An address object with all 11 keys; unspecified subfields are null (reference §5)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"value": value}
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        raise ValidationError(f"{name}: Expected object with a string `value`")
    unknown = set(value) - set(ADDRESS_KEYS)
    if unknown:
        raise ValidationError(f"{name}: Unrecognized key(s) in object: {sorted(unknown)}")
    return {key: value.get(key) for key in ADDRESS_KEYS}


def check_custom_value(store: Store, definition: FieldDef, value: Any) -> Any:
    """Validate (and normalise) a v2 `custom_fields` value for its field type."""
    name = f"custom_fields.{definition.key}"
    field_type = definition.field_type
    if value is None:
        return None
    if field_type in ("varchar", "varchar_auto", "text", "phone", "varchar_options"):
        if not isinstance(value, str):
            raise ValidationError(f"{name}: Expected string, received {_type_name(value)}")
        return value
    if field_type in ("double", "int"):
        if not _is_number(value) or (field_type == "int" and not isinstance(value, int)):
            raise ValidationError(f"{name}: Expected number, received {_type_name(value)}")
        return value
    if field_type in ("user", "org", "people"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError(f"{name}: Expected number, received {_type_name(value)}")
        return value
    if field_type == "date":
        _check_date(name, value)
        return value
    if field_type == "monetary":
        if (
            not isinstance(value, dict)
            or not _is_number(value.get("value"))
            or not isinstance(value.get("currency"), str)
            or set(value) - {"value", "currency"}
        ):
            raise ValidationError(f"{name}: Expected object {{value: number, currency: string}}")
        return {"value": value["value"], "currency": value["currency"]}
    if field_type == "address":
        return normalize_address(value, name)
    if field_type == "daterange":
        if not isinstance(value, dict):
            raise ValidationError(f"{name}: Expected object {{value, until}}")
        _check_date(name + ".value", value.get("value"))
        _check_date(name + ".until", value.get("until"))
        return {"value": value["value"], "until": value["until"]}
    option_ids = {o["id"] for o in definition.data.get("options") or []}
    if field_type == "enum":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError(f"{name}: Expected number, received {_type_name(value)}")
        if value not in option_ids:
            raise ValidationError(f"{name}: Invalid option id {value}")
        return value
    if field_type == "set":
        if not isinstance(value, list) or not value:
            # Clearing a set field takes null; [] is a validation error (reference §7).
            raise ValidationError(f"{name}: Expected a non-empty array of option ids or null")
        for item in value:
            if not isinstance(item, int) or isinstance(item, bool) or item not in option_ids:
                raise ValidationError(f"{name}: Invalid option id {item!r}")
        return list(value)
    raise ValidationError(f"{name}: field type {field_type} cannot be set")


def check_custom_fields(
    store: Store, company_id: int, entity: str, values: Any, *, by_name: bool = False
) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ValidationError(f"custom_fields: Expected object, received {_type_name(values)}")
    result: dict[str, Any] = {}
    for key, value in values.items():
        definition = (
            store.find_field(company_id, entity, key)
            if by_name
            else next((f for f in store.custom_fields(company_id, entity) if f.key == key), None)
        )
        if definition is None or not definition.is_custom:
            raise ValidationError(f"custom_fields: Unknown custom field key {key!r}")
        result[definition.key] = check_custom_value(store, definition, value)
    return result


def empty_custom_fields(store: Store, company_id: int, entity: str) -> dict[str, Any]:
    return {f.key: None for f in store.custom_fields(company_id, entity)}


# --------------------------------------------------------------------------- records


def new_organization(
    store: Store,
    company_id: int,
    now: datetime,
    *,
    name: str,
    owner_id: int,
    address: Any = None,
    custom_fields: dict[str, Any] | None = None,
    website: str | None = None,
    label_ids: list[int] | None = None,
    visible_to: int = 3,
) -> Record:
    org_id = store.next_id("organization")
    data: dict[str, Any] = {
        "id": org_id,
        "name": name,
        "owner_id": owner_id,
        "add_time": v2_time(now),
        "update_time": v2_time(now),
        "address": normalize_address(address),
        "is_deleted": False,
        "visible_to": visible_to,
        "label_ids": list(label_ids or []),
        "website": website,
        "linkedin": None,
        "industry": None,
        "annual_revenue": None,
        "employee_count": None,
        "custom_fields": empty_custom_fields(store, company_id, "organization"),
    }
    if custom_fields:
        data["custom_fields"].update(
            check_custom_fields(store, company_id, "organization", custom_fields, by_name=True)
        )
    record = Record(company_id, data)
    store.organizations[org_id] = record
    return record


def _contact_items(items: Any, name: str) -> list[dict[str, Any]]:
    """`emails`/`phones`: `{value, primary, label}`; label defaults to work; one primary (§6)."""
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        raise ValidationError(f"{name}: Expected array")
    result = []
    for item in items:
        if isinstance(item, str):
            item = {"value": item}
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise ValidationError(f"{name}: Expected objects with a string `value`")
        result.append(
            {
                "value": item["value"],
                "primary": bool(item.get("primary", False)),
                "label": item.get("label") or "work",
            }
        )
    if result and not any(i["primary"] for i in result):
        result[0]["primary"] = True
    if sum(i["primary"] for i in result) > 1:
        raise ValidationError(f"{name}: Only one item can be primary")
    return result


def new_person(
    store: Store,
    company_id: int,
    now: datetime,
    *,
    name: str,
    owner_id: int,
    org_id: int | None = None,
    emails: Any = None,
    phones: Any = None,
    custom_fields: dict[str, Any] | None = None,
    visible_to: int = 3,
) -> Record:
    person_id = store.next_id("person")
    first, _, last = name.partition(" ")
    data: dict[str, Any] = {
        "id": person_id,
        "name": name,
        "first_name": first,
        "last_name": last,
        "owner_id": owner_id,
        "org_id": org_id,
        "add_time": v2_time(now),
        "update_time": v2_time(now),
        "emails": _contact_items(emails, "emails"),
        "phones": _contact_items(phones, "phones"),
        "is_deleted": False,
        "visible_to": visible_to,
        "label_ids": [],
        "picture_id": None,
        "custom_fields": empty_custom_fields(store, company_id, "person"),
    }
    # `im`, `notes`, `birthday`, `job_title`, `postal_address` exist only with Contact Sync (§6),
    # which the emulated companies do not have.
    if custom_fields:
        data["custom_fields"].update(
            check_custom_fields(store, company_id, "person", custom_fields, by_name=True)
        )
    record = Record(company_id, data)
    store.persons[person_id] = record
    return record


def new_deal(
    store: Store,
    company_id: int,
    now: datetime,
    *,
    title: str,
    owner_id: int,
    value: float = 0,
    currency: str = "EUR",
    org_id: int | None = None,
    person_id: int | None = None,
    status: str = "open",
    expected_close_date: str | None = None,
    custom_fields: dict[str, Any] | None = None,
    stage_id: int | None = None,
    pipeline_id: int | None = None,
    probability: float | None = None,
    label_ids: list[int] | None = None,
) -> Record:
    if stage_id is None:
        # "If omitted, the deal will be placed in the first stage of the default pipeline"
        # (addDeal's `stage_id`); the default pipeline's own first stage when only it is given.
        first = store.first_stage(company_id, pipeline_id)
        stage_id = first.data["id"] if first is not None else 1
    if pipeline_id is None:
        stage = store.get_stage(company_id, stage_id)
        pipeline_id = stage.data["pipeline_id"] if stage is not None else 1
    deal_id = store.next_id("deal")
    stamp = v2_time(now)
    won = status == "won"
    lost = status == "lost"
    data: dict[str, Any] = {
        "id": deal_id,
        "title": title,
        "creator_user_id": owner_id,
        "owner_id": owner_id,
        "value": value,
        "person_id": person_id,
        "org_id": org_id,
        "stage_id": stage_id,
        "pipeline_id": pipeline_id,
        "currency": currency,
        "archive_time": None,
        "add_time": stamp,
        "update_time": stamp,
        "stage_change_time": None,
        "status": status,
        "is_archived": False,
        "is_deleted": False,
        "probability": probability,
        "lost_reason": None,
        "visible_to": 3,
        "close_time": stamp if (won or lost) else None,
        "won_time": stamp if won else None,
        "lost_time": stamp if lost else None,
        "local_won_date": stamp[:10] if won else None,
        "local_lost_date": stamp[:10] if lost else None,
        "local_close_date": stamp[:10] if (won or lost) else None,
        "expected_close_date": expected_close_date,
        "label_ids": list(label_ids or []),
        "origin": "ManuallyCreated",
        "origin_id": None,
        "channel": None,
        "channel_id": None,
        "source_lead_id": None,
        "acv": None,
        "arr": None,
        "mrr": None,
        "custom_fields": empty_custom_fields(store, company_id, "deal"),
    }
    if custom_fields:
        data["custom_fields"].update(
            check_custom_fields(store, company_id, "deal", custom_fields, by_name=True)
        )
    record = Record(company_id, data)
    store.deals[deal_id] = record
    return record


def line_sum(quantity: float, item_price: float, discount: float, discount_type: str) -> float:
    """Deal-product `sum`: quantity x price less the discount; tax is not included.

    `discount` is in percent units for `percentage` (22 x 5 with 0.2 % -> 109.78, reference §4.3).
    Whether `sum` includes tax for `exclusive` is [U]; we assume it does not (it is the line net).
    """
    gross = quantity * item_price
    net = gross * (1 - discount / 100) if discount_type == "percentage" else gross - discount
    return json_number(round(net, 2))


def json_number(value: float) -> float:
    """Serve integral amounts as JSON integers (`90`, not `90.0`), as Pipedrive does."""
    return int(value) if float(value).is_integer() else value


def add_deal_product(
    store: Store,
    deal: Record,
    now: datetime,
    *,
    name: str,
    item_price: float,
    quantity: float = 1,
    discount: float = 0,
    discount_type: str = "percentage",
    tax: float = 0,
    tax_method: str | None = None,
    comments: str = "",
    product_id: int | None = None,
    billing_frequency: str = "one-time",
) -> DealProduct:
    if discount_type not in ("percentage", "amount"):
        raise ValidationError("discount_type: Invalid enum value")
    siblings = [p for p in store.deal_products.values() if p.data["deal_id"] == deal.data["id"]]
    if tax_method is None:
        tax_method = siblings[0].data["tax_method"] if siblings else "exclusive"
    if tax_method not in ("exclusive", "inclusive", "none"):
        raise ValidationError("tax_method: Invalid enum value")
    # tax_method is per deal: changing it on one product changes it on all (reference §4.3).
    for sibling in siblings:
        sibling.data["tax_method"] = tax_method
    attachment_id = store.next_id("deal_product")
    stamp = v2_time(now)
    data = {
        "id": attachment_id,
        "sum": line_sum(quantity, item_price, discount, discount_type),
        "tax": tax,
        "deal_id": deal.data["id"],
        "name": name,
        "product_id": product_id or store.next_id("product"),
        "product_variation_id": None,
        "order_nr": len(siblings) + 1,
        "add_time": stamp,
        "update_time": stamp,
        "comments": comments,
        "currency": deal.data["currency"],
        "discount": discount,
        "quantity": quantity,
        "item_price": item_price,
        "tax_method": tax_method,
        "discount_type": discount_type,
        "is_enabled": True,
        "billing_frequency": billing_frequency,
        "billing_frequency_cycles": None,
        "billing_start_date": None,
    }
    product = DealProduct(deal.company_id, data)
    store.deal_products[attachment_id] = product
    return product


def add_discount(
    store: Store,
    deal: Record,
    now: datetime,
    *,
    description: str,
    amount: float,
    type: str = "percentage",
    user_id: int,
) -> Discount:
    if type not in ("percentage", "amount"):
        raise ValidationError("type: Invalid enum value")
    stamp = v2_time(now)
    discount_id = str(uuid.uuid4())
    data = {
        "id": discount_id,
        "description": description,
        "amount": amount,
        "type": type,
        "deal_id": deal.data["id"],
        "created_at": stamp,
        "created_by": user_id,
        "updated_at": stamp,
        "updated_by": user_id,
    }
    discount = Discount(deal.company_id, data)
    store.discounts[discount_id] = discount
    return discount


def products_of(store: Store, deal_id: int) -> list[DealProduct]:
    return [p for p in store.deal_products.values() if p.data["deal_id"] == deal_id]
