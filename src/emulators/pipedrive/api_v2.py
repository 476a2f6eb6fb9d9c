"""API v2: deals, deal products, discounts, organizations, persons, pipelines, stages and
field definitions."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from . import responses
from .auth import operation, principal_of
from .clock import v2_time
from .model import ValidationError, add_custom_field, new_deal, products_of, render_field
from .pagination import (
    bool_param,
    decode_cursor,
    encode_cursor,
    int_param,
    limit_param,
    paginate,
)
from .records import (
    apply_changes,
    parse_custom_field_keys,
    parse_include_fields,
    render_record,
    validate_patch,
)
from .state import Emulator, emulator_of
from .store import Record

ENTITY_PATHS = {"deals": "deal", "organizations": "organization", "persons": "person"}


def _not_found() -> web.Response:
    # The only v2 404 body in the spec (`POST /api/v2/deals/{id}/convert/lead`); the exact text
    # for GET/PATCH by id is [U], most likely the same generic wording.
    return responses.not_found("Entity was not found")


def _path_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError as exc:
        raise ValidationError("id: Expected number, received string") from exc


def _record_or_none(request: web.Request, entity: str) -> Record | None:
    emulator = emulator_of(request)
    return emulator.store.get_record(entity, principal_of(request).company_id, _path_id(request))


def _render(request: web.Request, entity: str, record: Record) -> dict[str, Any]:
    return render_record(
        emulator_of(request).store,
        entity,
        record,
        include_fields=parse_include_fields(entity, request.query.get("include_fields")),
        custom_field_keys=parse_custom_field_keys(request.query.get("custom_fields")),
        include_option_labels=bool_param(request, "include_option_labels"),
    )


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        # v2 accepts JSON bodies only (reference §2).
        raise ValidationError("body: Content-Type must be application/json")
    try:
        return await request.json()
    except json.JSONDecodeError as exc:
        raise ValidationError("body: Invalid JSON") from exc


def change_record(
    emulator: Emulator,
    entity: str,
    record: Record,
    body: Any,
    *,
    user_id: int,
    change_source: str,
) -> dict[str, Any]:
    """Validate and apply a v2 PATCH body, then fire `change` webhooks. Shared with admin."""
    changes = validate_patch(emulator.store, entity, record.company_id, body)
    moved_to = changes.get("pipeline_id")
    if (
        entity == "deal"
        and "stage_id" not in changes
        and moved_to is not None
        and moved_to != record.data["pipeline_id"]
    ):
        # [U] Another pipeline without a stage: its first stage, as the board's move does.
        first = emulator.store.first_stage(record.company_id, moved_to)
        if first is not None:
            changes["stage_id"] = first.data["id"]
    previous = apply_changes(record, entity, changes, emulator.clock.now())
    if previous:
        emulator.webhooks.emit(
            company_id=record.company_id,
            entity=entity,
            action="change",
            record_id=record.data["id"],
            data=record.data,
            previous=previous,
            user_id=user_id,
            change_source=change_source,
        )
    return previous


# Fields `POST /api/v2/deals` accepts only with the status they belong to (the spec's
# descriptions: "Can only be set if deal status is won/lost"); the error wording is [U].
_STATUS_ONLY = {
    "won_time": ("won",),
    "lost_time": ("lost",),
    "lost_reason": ("lost",),
    "close_time": ("won", "lost"),
}


def add_deal(
    emulator: Emulator, company_id: int, body: Any, *, user_id: int, origin: str
) -> Record:
    """Validate a v2 `POST /deals` body (addDeal: the PATCH fields, `title` required) and
    create the deal; :func:`announce_created` then fires its `create` webhooks. Shared with
    admin, which may attach products in between.

    [U] Defaults for what the body omits: the caller as owner, the caller's default currency,
    the first stage of the default pipeline ([C]; of the given pipeline when only
    `pipeline_id` is given), `visible_to` 3.
    A deal created won gets its won and close times (and first_won_time) at once, as a deal
    marked won does."""
    if not isinstance(body, dict):
        raise ValidationError("body: Expected object")
    if "title" not in body:
        raise ValidationError("title: Required")
    store = emulator.store
    changes = validate_patch(store, "deal", company_id, body)
    status = changes.pop("status", "open")
    for name, statuses in _STATUS_ONLY.items():
        if changes.get(name) is not None and status not in statuses:
            raise ValidationError(
                f"{name}: Can only be set if deal status is {' or '.join(statuses)}"
            )
    owner_id = changes.pop("owner_id", user_id)
    user = store.users[user_id]
    now = emulator.clock.now()
    record = new_deal(
        store,
        company_id,
        now,
        title=changes.pop("title"),
        owner_id=owner_id,
        value=changes.pop("value", 0),
        currency=changes.pop("currency", user.default_currency),
        org_id=changes.pop("org_id", None),
        person_id=changes.pop("person_id", None),
        status=status,
        stage_id=changes.pop("stage_id", None),
        pipeline_id=changes.pop("pipeline_id", None),
    )
    data = record.data
    data["creator_user_id"] = user_id
    data["origin"] = origin
    data["custom_fields"].update(changes.pop("custom_fields", {}))
    data.update(changes)
    if data["is_archived"] and data["archive_time"] is None:
        data["archive_time"] = v2_time(now)  # "If omitted and `is_archived` is true" (spec)
    for name, local in (("won_time", "local_won_date"), ("lost_time", "local_lost_date")):
        if data[name] is not None:
            data[local] = data[name][:10]
    if data["close_time"] is not None:
        data["local_close_date"] = data["close_time"][:10]
    return record


def announce_created(
    emulator: Emulator, entity: str, record: Record, *, user_id: int, change_source: str
) -> None:
    """Fire `create` webhooks: `data` the new record, `previous` null (reference §9, [C])."""
    emulator.webhooks.emit(
        company_id=record.company_id,
        entity=entity,
        action="create",
        record_id=record.data["id"],
        data=record.data,
        previous=None,
        user_id=user_id,
        change_source=change_source,
    )


def delete_record(
    emulator: Emulator, entity: str, record: Record, *, user_id: int, change_source: str
) -> None:
    """Soft delete (`is_deleted`), purge is not emulated; fires `delete` webhooks."""
    last_state = json.loads(json.dumps(record.data))
    record.data["is_deleted"] = True
    if entity == "deal":
        record.data["status"] = "deleted"
    record.data["update_time"] = last_state["update_time"]
    emulator.webhooks.emit(
        company_id=record.company_id,
        entity=entity,
        action="delete",
        record_id=record.data["id"],
        data=None,
        previous=last_state,
        user_id=user_id,
        change_source=change_source,
    )


# --------------------------------------------------------------------------- deals


@operation("v2", "get", "/deals")
async def list_deals(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    company_id = principal_of(request).company_id
    deals = [d for d in emulator.store.deals.values() if d.company_id == company_id]
    status = request.query.get("status")
    if status is not None and status not in ("open", "won", "lost", "deleted"):
        raise ValidationError("status: Invalid enum value")
    if status == "deleted":
        deals = [d for d in deals if d.data["is_deleted"]]
    else:
        # Archived deals are excluded from lists since 2025-07-15 (reference §4.1).
        deals = [d for d in deals if not d.data["is_deleted"] and not d.data["is_archived"]]
        if status:
            deals = [d for d in deals if d.data["status"] == status]
    for name in ("owner_id", "person_id", "org_id", "pipeline_id", "stage_id"):
        wanted = int_param(request, name)
        if wanted is not None:
            deals = [d for d in deals if d.data[name] == wanted]
    if request.query.get("ids"):
        try:
            ids = {int(part) for part in request.query["ids"].split(",")}
        except ValueError as exc:
            raise ValidationError("ids: Expected comma-separated numbers") from exc
        deals = [d for d in deals if d.data["id"] in ids]
    if request.query.get("updated_since"):
        deals = [d for d in deals if d.data["update_time"] >= request.query["updated_since"]]
    if request.query.get("updated_until"):
        deals = [d for d in deals if d.data["update_time"] < request.query["updated_until"]]
    page, next_cursor = paginate(
        request,
        deals,
        sort_fields=("id", "update_time", "add_time"),
        value_of=lambda d, f: d.data[f],
        id_of=lambda d: d.data["id"],
    )
    return responses.ok([_render(request, "deal", d) for d in page], {"next_cursor": next_cursor})


@operation("v2", "post", "/deals")
async def post_deal(request: web.Request) -> web.Response:
    emulator, principal = emulator_of(request), principal_of(request)
    record = add_deal(
        emulator,
        principal.company_id,
        await _json_body(request),
        user_id=principal.user_id,
        # [U] The `origin` of a deal created through the API: "API" assumed; the reference
        # shows only "ManuallyCreated" (A6, a deal created in the web app).
        origin="API",
    )
    announce_created(emulator, "deal", record, user_id=principal.user_id, change_source="api")
    return responses.ok(render_record(emulator.store, "deal", record))


@operation("v2", "get", "/deals/{id}")
async def get_deal(request: web.Request) -> web.Response:
    record = _record_or_none(request, "deal")
    if record is None:
        return _not_found()
    # Soft-deleted deals are still served, with `is_deleted: true` and status `deleted` ([U]).
    return responses.ok(_render(request, "deal", record))


async def _patch(request: web.Request, entity: str) -> web.Response:
    record = _record_or_none(request, entity)
    if record is None:
        return _not_found()
    body = await _json_body(request)
    archived = entity == "deal" and record.data["is_archived"]
    if archived and isinstance(body, dict) and body.get("is_archived") is not False:
        return responses.fail(403, "Archived deals cannot be edited")  # [U] wording
    change_record(
        emulator_of(request),
        entity,
        record,
        body,
        user_id=principal_of(request).user_id,
        change_source="api",
    )
    return responses.ok(render_record(emulator_of(request).store, entity, record))


@operation("v2", "patch", "/deals/{id}")
async def patch_deal(request: web.Request) -> web.Response:
    return await _patch(request, "deal")


@operation("v2", "delete", "/deals/{id}")
async def delete_deal(request: web.Request) -> web.Response:
    record = _record_or_none(request, "deal")
    if record is None or record.data["is_deleted"]:
        return _not_found()
    delete_record(
        emulator_of(request),
        "deal",
        record,
        user_id=principal_of(request).user_id,
        change_source="api",
    )
    return responses.ok({"id": record.data["id"]})


# --------------------------------------------------------------------------- deal products


def _product_value(product: Any, field: str) -> Any:
    return product.data[field]


@operation("v2", "get", "/deals/{id}/products")
async def deal_products(request: web.Request) -> web.Response:
    record = _record_or_none(request, "deal")
    if record is None:
        return _not_found()
    items = products_of(emulator_of(request).store, record.data["id"])
    page, next_cursor = paginate(
        request,
        items,
        sort_fields=("id", "add_time", "update_time", "order_nr"),
        value_of=_product_value,
        id_of=lambda p: p.data["id"],
    )
    return responses.ok([dict(p.data) for p in page], {"next_cursor": next_cursor})


@operation("v2", "get", "/deals/products")
async def many_deal_products(request: web.Request) -> web.Response:
    raw = request.query.get("deal_ids")
    if not raw:
        raise ValidationError("deal_ids: Required")
    try:
        deal_ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise ValidationError("deal_ids: Expected comma-separated numbers") from exc
    if not deal_ids or len(deal_ids) > 100:
        raise ValidationError("deal_ids: Between 1 and 100 deal ids are allowed")
    emulator = emulator_of(request)
    company_id = principal_of(request).company_id
    items = [
        p
        for deal_id in deal_ids
        if emulator.store.get_record("deal", company_id, deal_id) is not None
        for p in products_of(emulator.store, deal_id)
    ]
    page, next_cursor = paginate(
        request,
        items,
        sort_fields=("id", "deal_id", "add_time", "update_time", "order_nr"),
        value_of=_product_value,
        id_of=lambda p: p.data["id"],
    )
    return responses.ok([dict(p.data) for p in page], {"next_cursor": next_cursor})


@operation("v2", "get", "/deals/{id}/discounts")
async def deal_discounts(request: web.Request) -> web.Response:
    record = _record_or_none(request, "deal")
    if record is None:
        return _not_found()
    emulator = emulator_of(request)
    items = [
        dict(d.data)
        for d in emulator.store.discounts.values()
        if d.data["deal_id"] == record.data["id"]
    ]
    return responses.ok(items)


# --------------------------------------------------------------------------- organizations, persons


@operation("v2", "get", "/organizations/{id}")
async def get_organization(request: web.Request) -> web.Response:
    record = _record_or_none(request, "organization")
    if record is None:
        return _not_found()
    return responses.ok(_render(request, "organization", record))


@operation("v2", "patch", "/organizations/{id}")
async def patch_organization(request: web.Request) -> web.Response:
    return await _patch(request, "organization")


@operation("v2", "get", "/persons/{id}")
async def get_person(request: web.Request) -> web.Response:
    record = _record_or_none(request, "person")
    if record is None:
        return _not_found()
    return responses.ok(_render(request, "person", record))


@operation("v2", "patch", "/persons/{id}")
async def patch_person(request: web.Request) -> web.Response:
    return await _patch(request, "person")


# --------------------------------------------------------------------------- pipelines, stages


@operation("v2", "get", "/pipelines")
async def list_pipelines(request: web.Request) -> web.Response:
    """The company's pipelines; deleted ones are left out ([U]: the spec has `is_deleted`)."""
    store = emulator_of(request).store
    pipelines = store.company_pipelines(principal_of(request).company_id)
    page, next_cursor = paginate(
        request,
        pipelines,
        sort_fields=("id", "update_time", "add_time"),
        value_of=lambda p, f: p.data[f],
        id_of=lambda p: p.data["id"],
    )
    return responses.ok([dict(p.data) for p in page], {"next_cursor": next_cursor})


@operation("v2", "get", "/stages")
async def list_stages(request: web.Request) -> web.Response:
    """All the company's stages, or one pipeline's (`pipeline_id`; [U] an unknown pipeline
    lists none rather than failing); deleted stages are left out ([U])."""
    store = emulator_of(request).store
    company_id = principal_of(request).company_id
    wanted = int_param(request, "pipeline_id")
    stages = [
        stage
        for pipeline in store.company_pipelines(company_id)
        if wanted is None or pipeline.data["id"] == wanted
        for stage in store.pipeline_stages(pipeline.data["id"])
    ]
    page, next_cursor = paginate(
        request,
        stages,
        sort_fields=("id", "update_time", "add_time", "order_nr"),
        value_of=lambda s, f: s.data[f],
        id_of=lambda s: s.data["id"],
    )
    return responses.ok([dict(s.data) for s in page], {"next_cursor": next_cursor})


# --------------------------------------------------------------------------- field definitions

_FIELD_INCLUDES = ("ui_visibility", "important_fields", "required_fields")


async def _fields(request: web.Request, entity: str) -> web.Response:
    emulator = emulator_of(request)
    include = {p for p in request.query.get("include_fields", "").split(",") if p}
    if include - set(_FIELD_INCLUDES):
        raise ValidationError("include_fields: Invalid enum value")
    definitions = emulator.store.company_fields(principal_of(request).company_id, entity)
    indexed = list(enumerate(definitions))
    limit = limit_param(request)
    start = 0
    if request.query.get("cursor"):
        start = int(decode_cursor(request.query["cursor"])["id"]) + 1
    page = indexed[start : start + limit]
    next_cursor = None
    if start + limit < len(indexed):
        last_index = page[-1][0]
        next_cursor = encode_cursor("order_nr", last_index, "asc", last_index)
    return responses.ok(
        [render_field(definition, include) for _, definition in page],
        {"next_cursor": next_cursor},
    )


@operation("v2", "get", "/dealFields")
async def deal_fields(request: web.Request) -> web.Response:
    return await _fields(request, "deal")


@operation("v2", "post", "/dealFields")
async def add_deal_field(request: web.Request) -> web.Response:
    """Create a custom deal field: its `field_code` is a new 40-character hash. Pipedrive
    allows two fields of one name (a client finds its own by the code it kept)."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise ValidationError("body: Expected object")
    name = body.get("field_name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise ValidationError("field_name: String must contain between 1 and 255 character(s)")
    field_type = body.get("field_type")
    if not isinstance(field_type, str):
        raise ValidationError("field_type: Required")
    options = body.get("options")
    if field_type in ("enum", "set") and (not isinstance(options, list) or not options):
        raise ValidationError("options: Required for enum and set fields")
    if options is not None and (
        not isinstance(options, list)
        or not all(isinstance(o, dict) and isinstance(o.get("label"), str) for o in options)
    ):
        raise ValidationError("options: Expected array of {label: string}")
    description = body.get("description")
    definition = add_custom_field(
        emulator_of(request).store,
        principal_of(request).company_id,
        "deal",
        name,
        field_type,
        options=[{"label": o["label"]} for o in options or []] or None,
        description=description if isinstance(description, str) else None,
    )
    return responses.ok(render_field(definition, set()))


@operation("v2", "get", "/organizationFields")
async def organization_fields(request: web.Request) -> web.Response:
    return await _fields(request, "organization")


@operation("v2", "get", "/personFields")
async def person_fields(request: web.Request) -> web.Response:
    return await _fields(request, "person")


def routes() -> list[web.RouteDef]:
    prefix = "/api/v2"
    return [
        web.get(f"{prefix}/deals", list_deals),
        web.post(f"{prefix}/deals", post_deal),
        # `/deals/products` must be registered before `/deals/{id}` patterns match it.
        web.get(f"{prefix}/deals/products", many_deal_products),
        web.get(f"{prefix}/deals/{{id}}", get_deal),
        web.patch(f"{prefix}/deals/{{id}}", patch_deal),
        web.delete(f"{prefix}/deals/{{id}}", delete_deal),
        web.get(f"{prefix}/deals/{{id}}/products", deal_products),
        web.get(f"{prefix}/deals/{{id}}/discounts", deal_discounts),
        web.get(f"{prefix}/organizations/{{id}}", get_organization),
        web.patch(f"{prefix}/organizations/{{id}}", patch_organization),
        web.get(f"{prefix}/persons/{{id}}", get_person),
        web.patch(f"{prefix}/persons/{{id}}", patch_person),
        web.get(f"{prefix}/pipelines", list_pipelines),
        web.get(f"{prefix}/stages", list_stages),
        web.get(f"{prefix}/dealFields", deal_fields),
        web.post(f"{prefix}/dealFields", add_deal_field),
        web.get(f"{prefix}/organizationFields", organization_fields),
        web.get(f"{prefix}/personFields", person_fields),
    ]
