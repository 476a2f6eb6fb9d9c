"""The emulator's own control API under `/_emulator/` (JSON, no auth) for tests and demos."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from .access import add_follower
from .api_v2 import add_deal, announce_created, change_record, delete_record
from .clock import iso_millis, parse_iso, v1_time
from .faults import FaultSpecError
from .model import NotFound, ValidationError, add_custom_field, add_deal_product, render_field
from .oauth import issue_tokens, send_uninstall
from .permission_sets import add_custom_set, permission_sets
from .records import render_record
from .seed import seed
from .state import Emulator, emulator_of
from .store import Record

PREFIX = "/_emulator"
KINDS = {"deals": "deal", "organizations": "organization", "persons": "person"}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError as exc:
        raise ValidationError("body must be JSON") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError("body must be a JSON object")
    return data


@web.middleware
async def admin_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith(PREFIX + "/"):
        return await handler(request)
    try:
        return await handler(request)
    except (ValidationError, FaultSpecError) as exc:
        return _error(400, str(exc))
    except (NotFound, KeyError) as exc:
        return _error(404, f"not found: {exc}")


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def reset(request: web.Request) -> web.Response:
    body = await _body(request)
    emulator = emulator_of(request)
    demo = emulator.reset(seed=body.get("seed"))
    return _json({"ok": True, "demo": demo})


async def demo(request: web.Request) -> web.Response:
    return _json({"demo": emulator_of(request).demo})


async def post_seed(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    result = seed(emulator.store, await _body(request), emulator.clock.now())
    return _json(result, 201)


def _record(emulator: Emulator, request: web.Request) -> tuple[str, Record]:
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise NotFound(kind)
    entity = KINDS[kind]
    record = emulator.store.records(entity).get(int(request.match_info["id"]))
    if record is None:
        raise NotFound(f"{entity} {request.match_info['id']}")
    return entity, record


def _actor(emulator: Emulator, record: Record, user_id: Any) -> int:
    if isinstance(user_id, int) and user_id in emulator.store.users:
        return user_id
    users = emulator.store.users_of(record.company_id)
    return next((u.id for u in users if u.is_admin), users[0].id)


async def patch_record(request: web.Request) -> web.Response:
    """Change a record as a person in the Pipedrive UI would (webhooks: change_source "app")."""
    emulator = emulator_of(request)
    entity, record = _record(emulator, request)
    body = await _body(request)
    actor = _actor(emulator, record, body.pop("user_id", None))
    previous = change_record(emulator, entity, record, body, user_id=actor, change_source="app")
    return _json({"data": render_record(emulator.store, entity, record), "previous": previous})


async def post_deal(request: web.Request) -> web.Response:
    """Create a deal as a person in the Pipedrive UI would (webhooks: change_source "app"):
    the v2 `POST /deals` body, plus `user_id` (who; default the company's first admin),
    `company_id` (default the first company) and `products` (the `deals/{id}/products` bodies,
    attached before the `create` webhook fires, as the UI's "Add deal" form can; [U] whether
    Pipedrive delivers the products' events before or after the deal's)."""
    emulator = emulator_of(request)
    body = await _body(request)
    company_id = body.pop("company_id", None) or next(iter(emulator.store.companies))
    if company_id not in emulator.store.companies:
        raise NotFound(f"company {company_id}")
    products = body.pop("products", None) or []
    if not isinstance(products, list) or not all(isinstance(p, dict) for p in products):
        raise ValidationError("products must be a list of objects")
    user_id = body.pop("user_id", None)
    users = emulator.store.users_of(company_id)
    if not (isinstance(user_id, int) and any(u.id == user_id for u in users)):
        user_id = next((u.id for u in users if u.is_admin), users[0].id)
    record = add_deal(emulator, company_id, body, user_id=user_id, origin="ManuallyCreated")
    try:
        for product in products:
            add_deal_product(emulator.store, record, emulator.clock.now(), **product)
    except (TypeError, ValidationError) as exc:  # nothing half-made is left or announced
        emulator.store.deals.pop(record.data["id"])
        for key, item in list(emulator.store.deal_products.items()):
            if item.data["deal_id"] == record.data["id"]:
                del emulator.store.deal_products[key]
        raise ValidationError(str(exc)) from exc
    announce_created(emulator, "deal", record, user_id=user_id, change_source="app")
    return _json({"data": render_record(emulator.store, "deal", record)}, 201)


async def delete_record_admin(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    entity, record = _record(emulator, request)
    user_id = request.query.get("user_id")
    actor = _actor(emulator, record, int(user_id) if user_id and user_id.isdigit() else None)
    delete_record(emulator, entity, record, user_id=actor, change_source="app")
    return _json({"deleted": record.data["id"], "entity": entity})


async def add_product(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    deal = emulator.store.deals.get(int(request.match_info["id"]))
    if deal is None:
        raise NotFound(f"deal {request.match_info['id']}")
    body = await _body(request)
    try:
        product = add_deal_product(emulator.store, deal, emulator.clock.now(), **body)
    except TypeError as exc:
        raise ValidationError(str(exc)) from exc
    return _json(product.data, 201)


async def add_field(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    body = await _body(request)
    company_id = body.get("company_id") or next(iter(emulator.store.companies))
    definition = add_custom_field(
        emulator.store,
        company_id,
        body.get("entity", "deal"),
        body["name"],
        body["field_type"],
        options=body.get("options"),
        key=body.get("key"),
    )
    return _json(render_field(definition, set()), 201)


async def uninstall(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    company_id = int(request.match_info["id"])
    if company_id not in emulator.store.companies:
        raise NotFound(f"company {company_id}")
    body = await _body(request)
    user_id = body.get("user_id")
    if user_id is None:
        users = emulator.store.users_of(company_id)
        user_id = next((u.id for u in users if u.is_admin), users[0].id)
    return _json(await send_uninstall(emulator, company_id, int(user_id)))


async def patch_user(request: web.Request) -> web.Response:
    """A user's role and visibility group, as an admin sets them in Pipedrive's settings."""
    emulator = emulator_of(request)
    user = emulator.store.users.get(int(request.match_info["id"]))
    if user is None:
        raise NotFound(f"user {request.match_info['id']}")
    body = await _body(request)
    unknown = set(body) - {"is_admin", "visibility_group", "permission_set_id"}
    if unknown:
        raise ValidationError(f"unknown keys {sorted(unknown)}")
    if "is_admin" in body:
        user.is_admin = bool(body["is_admin"])
    if "visibility_group" in body:
        group = body["visibility_group"]
        if group is not None and not isinstance(group, str):
            raise ValidationError("visibility_group must be a group name or null")
        user.visibility_group = group
    if "permission_set_id" in body:
        chosen = body["permission_set_id"]
        company = emulator.store.companies[user.company_id]
        sales = {s["id"] for s in permission_sets(company) if s["app"] == "sales"}
        if chosen is not None and chosen not in sales:
            raise ValidationError("permission_set_id must be one of the company's sales sets")
        user.sales_permission_set = chosen
    return _json(
        {"id": user.id, "is_admin": user.is_admin, "visibility_group": user.visibility_group}
    )


async def patch_company(request: web.Request) -> web.Response:
    """The company's plan ("growth" or "premium": what `visible_to` means) and its visibility
    groups ({name: parent name or null})."""
    emulator = emulator_of(request)
    company = emulator.store.companies.get(int(request.match_info["id"]))
    if company is None:
        raise NotFound(f"company {request.match_info['id']}")
    body = await _body(request)
    if "plan" in body:
        if body["plan"] not in ("growth", "premium"):
            raise ValidationError("plan must be 'growth' or 'premium'")
        company.plan = body["plan"]
    if "visibility_groups" in body:
        groups = body["visibility_groups"]
        if not isinstance(groups, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in groups.items()
        ):
            raise ValidationError("visibility_groups must map group names to a parent or null")
        company.visibility_groups = dict(groups)
    return _json(
        {"id": company.id, "plan": company.plan, "visibility_groups": company.visibility_groups}
    )


async def add_permission_set(request: web.Request) -> web.Response:
    """A custom permission set (`{name, app?}`; app defaults to sales)."""
    emulator = emulator_of(request)
    company = emulator.store.companies.get(int(request.match_info["id"]))
    if company is None:
        raise NotFound(f"company {request.match_info['id']}")
    body = await _body(request)
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise ValidationError("name is required")
    return _json(
        add_custom_set(emulator.store, company, body["name"], body.get("app", "sales")), 201
    )


async def add_follower_admin(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    deal = emulator.store.deals.get(int(request.match_info["id"]))
    if deal is None:
        raise NotFound(f"deal {request.match_info['id']}")
    body = await _body(request)
    user_id = body.get("user_id")
    user = emulator.store.users.get(user_id) if isinstance(user_id, int) else None
    if user is None or user.company_id != deal.company_id:
        raise ValidationError("user_id must be a user of the deal's company")
    return _json(add_follower(emulator.store, deal, user.id, v1_time(emulator.clock.now())), 201)


async def add_fault(request: web.Request) -> web.Response:
    fault = emulator_of(request).faults.add(await _body(request))
    return _json(fault.describe(), 201)


async def list_faults(request: web.Request) -> web.Response:
    return _json({"faults": [f.describe() for f in emulator_of(request).faults.faults]})


async def clear_faults(request: web.Request) -> web.Response:
    emulator_of(request).faults.clear()
    return _json({"ok": True})


async def list_requests(request: web.Request) -> web.Response:
    entries = emulator_of(request).requests
    if request.query.get("path"):
        pattern = re.compile(request.query["path"])
        entries = [e for e in entries if pattern.search(e["path"])]
    if request.query.get("method"):
        entries = [e for e in entries if e["method"] == request.query["method"].upper()]
    limit = int(request.query.get("limit", "0") or 0)
    if limit:
        entries = entries[-limit:]
    return _json({"requests": entries})


async def clear_requests(request: web.Request) -> web.Response:
    emulator_of(request).requests.clear()
    return _json({"ok": True})


async def mint_token(request: web.Request) -> web.Response:
    """Mint an OAuth token pair directly (no browser flow) for tests."""
    emulator = emulator_of(request)
    body = await _body(request)
    store = emulator.store
    user_id = body.get("user_id")
    if user_id is not None:
        user = store.users.get(int(user_id))
        if user is None:
            raise NotFound(f"user {user_id}")
    else:
        company_id = body.get("company_id") or next(iter(store.companies))
        users = store.users_of(int(company_id))
        if not users:
            raise NotFound(f"company {company_id}")
        user = next((u for u in users if u.is_admin), users[0])
    if body.get("company_id") is not None and int(body["company_id"]) != user.company_id:
        raise ValidationError("user does not belong to company")
    scopes = body.get("scopes", emulator.config.scopes)
    if isinstance(scopes, str):
        scopes = [s for s in scopes.split(",") if s]
    result = issue_tokens(
        emulator,
        company_id=user.company_id,
        user_id=user.id,
        client_id=emulator.config.client_id,
        scopes=tuple(scopes),
        base_url=emulator.base_url(request),
        expires_in=body.get("expires_in"),
    )
    result.update({"company_id": user.company_id, "user_id": user.id})
    return _json(result, 201)


async def clock(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    if request.method == "POST":
        body = await _body(request)
        if body.get("now"):
            emulator.clock.set(parse_iso(body["now"]), frozen=bool(body.get("frozen", False)))
        if body.get("advance_seconds"):
            emulator.clock.advance(float(body["advance_seconds"]))
        if body.get("reset"):
            emulator.clock.reset()
    return _json({"now": iso_millis(emulator.clock.now())})


async def deliveries(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    if request.query.get("wait") == "true":
        await emulator.webhooks.drain()
    return _json({"deliveries": emulator.webhooks.deliveries})


async def drain(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    await emulator.webhooks.drain()
    return _json({"deliveries": len(emulator.webhooks.deliveries)})


async def redeliver(request: web.Request) -> web.Response:
    """Deliver a past event again (``{"event_id": meta.id}``), with the next ``meta.attempt``:
    what Pipedrive does after a delivery it saw time out."""
    emulator = emulator_of(request)
    body = await _body(request)
    queued = emulator.webhooks.redeliver(str(body.get("event_id", "")))
    if not queued:
        raise NotFound(f"webhook event {body.get('event_id')}")
    return _json({"queued": queued})


async def uninstalls(request: web.Request) -> web.Response:
    return _json({"uninstalls": emulator_of(request).uninstall_calls})


async def budget(request: web.Request) -> web.Response:
    """Read or set a company's tokens spent today (to test daily-budget exhaustion)."""
    emulator = emulator_of(request)
    company_id = int(request.match_info["id"])
    if request.method == "POST":
        body = await _body(request)
        emulator.limiter.set_spent_today(company_id, int(body["spent"]))
    spent = emulator.limiter.spent_today(company_id)
    return _json(
        {
            "company_id": company_id,
            "spent": spent,
            "budget": emulator.limiter.daily_budget,
            "remaining": max(0, emulator.limiter.daily_budget - spent),
        }
    )


async def webhooks_list(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    return _json(
        {
            "webhooks": [
                {**w.data, "client_id": w.client_id} for w in emulator.store.webhooks.values()
            ]
        }
    )


def routes() -> list[web.RouteDef]:
    p = PREFIX
    return [
        web.get(f"{p}/health", health),
        web.post(f"{p}/reset", reset),
        web.get(f"{p}/demo", demo),
        web.post(f"{p}/seed", post_seed),
        web.post(f"{p}/fields", add_field),
        web.post(f"{p}/deals", post_deal),
        web.patch(f"{p}/{{kind}}/{{id:\\d+}}", patch_record),
        web.delete(f"{p}/{{kind}}/{{id:\\d+}}", delete_record_admin),
        web.post(f"{p}/deals/{{id:\\d+}}/products", add_product),
        web.post(f"{p}/deals/{{id:\\d+}}/followers", add_follower_admin),
        web.patch(f"{p}/users/{{id:\\d+}}", patch_user),
        web.patch(f"{p}/companies/{{id:\\d+}}", patch_company),
        web.post(f"{p}/companies/{{id:\\d+}}/permission-sets", add_permission_set),
        web.post(f"{p}/companies/{{id:\\d+}}/uninstall", uninstall),
        web.get(f"{p}/companies/{{id:\\d+}}/budget", budget),
        web.post(f"{p}/companies/{{id:\\d+}}/budget", budget),
        web.post(f"{p}/faults", add_fault),
        web.get(f"{p}/faults", list_faults),
        web.delete(f"{p}/faults", clear_faults),
        web.get(f"{p}/requests", list_requests),
        web.delete(f"{p}/requests", clear_requests),
        web.post(f"{p}/tokens", mint_token),
        web.get(f"{p}/clock", clock),
        web.post(f"{p}/clock", clock),
        web.get(f"{p}/webhooks", webhooks_list),
        web.get(f"{p}/webhook-deliveries", deliveries),
        web.post(f"{p}/webhooks/drain", drain),
        web.post(f"{p}/webhook-deliveries/redeliver", redeliver),
        web.get(f"{p}/uninstalls", uninstalls),
    ]
