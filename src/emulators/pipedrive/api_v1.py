"""API v1 still in support: users/me, currencies, notes, webhooks (at /v1 and /api/v1)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from . import responses
from .auth import Principal, operation, principal_of
from .clock import iso_millis, v1_time
from .permission_sets import access_of
from .state import Emulator, emulator_of
from .store import Note, Webhook

CURRENCIES = [
    # (code, name, decimal_points, symbol)
    ("AUD", "Australian Dollar", 2, "A$"),
    ("CAD", "Canadian Dollar", 2, "CA$"),
    ("CHF", "Swiss Franc", 2, "CHF"),
    ("DKK", "Danish Krone", 2, "kr"),
    ("EUR", "Euro", 2, "€"),
    ("GBP", "British Pound", 2, "£"),
    ("JPY", "Japanese Yen", 0, "¥"),
    ("NOK", "Norwegian Krone", 2, "kr"),
    ("PLN", "Polish Zloty", 2, "zł"),
    ("SEK", "Swedish Krona", 2, "kr"),
    ("USD", "US Dollar", 2, "$"),
]

WEBHOOK_ACTIONS = ("create", "change", "delete", "*")
# The spec enum, plus the objects the webhooks v2 guide adds (reference §9).
WEBHOOK_OBJECTS = (
    "activity",
    "deal",
    "lead",
    "note",
    "organization",
    "person",
    "pipeline",
    "product",
    "stage",
    "user",
    "*",
    "deal_product",
    "deal_installment",
    "project",
    "task",
    "board",
    "phase",
)
MAX_WEBHOOKS_PER_USER = 40


async def _body(request: web.Request) -> dict[str, Any]:
    """v1 POST accepts JSON and form-encoded bodies (reference §2)."""
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _flag(value: Any) -> bool:
    return value in (1, "1", True, "true")


# --------------------------------------------------------------------------- users, currencies


def _user_data(emulator: Any, user: Any, *, is_you: bool) -> dict[str, Any]:
    """A user as `GET /v1/users/{id}` shows it (BaseUser); `users/me` adds the company."""
    language, _, country = user.locale.partition("_")
    access = access_of(user)
    first_user = min(u.id for u in emulator.store.users_of(user.company_id))
    return {
        "id": user.id,
        "name": user.name,
        "default_currency": user.default_currency,
        "locale": user.locale,
        "lang": 1,
        "email": user.email,
        "phone": user.phone,
        "activated": True,
        "last_login": v1_time(emulator.clock.now()),
        "created": user.created,
        "modified": user.created,
        "has_created_company": user.id == first_user,
        "access": access,
        "active_flag": True,
        "timezone_name": user.timezone_name,
        "timezone_offset": user.timezone_offset,
        "role_id": 1,
        "icon_url": None,
        "is_you": is_you,
        "is_deleted": False,
        "language": {"language_code": language, "country_code": country},
    }


@operation("v1", "get", "/users/me")
async def users_me(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    principal = principal_of(request)
    user = emulator.store.users[principal.user_id]
    company = emulator.store.companies[user.company_id]
    data = _user_data(emulator, user, is_you=True)
    data.update(
        {
            "company_id": company.id,
            "company_name": company.name,
            "company_domain": company.domain,
            "company_country": company.country,
            "company_industry": company.industry,
        }
    )
    return responses.ok(data)


@operation("v1", "get", "/users/{id}")
async def get_user(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    principal = principal_of(request)
    raw = request.match_info["id"]
    user = emulator.store.users.get(int(raw)) if raw.isdigit() else None
    if user is None or user.company_id != principal.company_id:
        return responses.not_found("User")
    return responses.ok(_user_data(emulator, user, is_you=user.id == principal.user_id))


@operation("v1", "get", "/currencies")
async def currencies(request: web.Request) -> web.Response:
    term = request.query.get("term", "").lower()
    data = [
        {
            "id": index,
            "code": code,
            "name": name,
            "decimal_points": decimals,
            "symbol": symbol,
            "active_flag": True,
            "is_custom_flag": False,
        }
        for index, (code, name, decimals, symbol) in enumerate(CURRENCIES, start=1)
        if term in code.lower() or term in name.lower()
    ]
    return responses.ok(data)


# --------------------------------------------------------------------------- notes

_SCRIPT = re.compile(r"<\s*(script|style|iframe)[^>]*>.*?<\s*/\s*\1\s*>", re.I | re.S)
_EVENT_ATTR = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)


def sanitize_html(content: str) -> str:
    """Notes are "subject to sanitization on the back-end"; the exact whitelist is [U].

    We drop script/style/iframe elements and inline event handlers, keeping ordinary markup.
    """
    return _EVENT_ATTR.sub("", _SCRIPT.sub("", content))


def _render_note(emulator: Emulator, note: Note, principal: Principal) -> dict[str, Any]:
    data = dict(note.data)
    store = emulator.store
    deal = store.deals.get(data["deal_id"]) if data["deal_id"] else None
    person = store.persons.get(data["person_id"]) if data["person_id"] else None
    org = store.organizations.get(data["org_id"]) if data["org_id"] else None
    author = store.users[data["user_id"]]
    data["deal"] = {"title": deal.data["title"]} if deal else None
    data["person"] = {"name": person.data["name"]} if person else None
    data["organization"] = {"name": org.data["name"]} if org else None
    data["user"] = {
        "email": author.email,
        "icon_url": None,
        "is_you": author.id == principal.user_id,
        "name": author.name,
    }
    return data


@operation("v1", "post", "/notes")
async def add_note(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    principal = principal_of(request)
    body = await _body(request)
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        return responses.fail(400, "Content is required")
    store = emulator.store
    company_id = principal.company_id
    deal_id = _as_int(body.get("deal_id"))
    person_id = _as_int(body.get("person_id"))
    org_id = _as_int(body.get("org_id"))
    lead_id = body.get("lead_id") if isinstance(body.get("lead_id"), str) else None
    if deal_id is None and person_id is None and org_id is None and lead_id is None:
        return responses.fail(
            400, "Note must have at least one of deal_id, person_id, org_id, lead_id"
        )
    if deal_id is not None and store.get_record("deal", company_id, deal_id) is None:
        return responses.fail(400, "Deal not found")
    if person_id is not None and store.get_record("person", company_id, person_id) is None:
        return responses.fail(400, "Person not found")
    if org_id is not None and store.get_record("organization", company_id, org_id) is None:
        return responses.fail(400, "Organization not found")
    if deal_id is not None:
        # A note on a deal is also linked to the deal's person and organization ([U]; this is
        # how it shows up in their timelines in the UI).
        deal = store.deals[deal_id].data
        person_id = person_id or deal["person_id"]
        org_id = org_id or deal["org_id"]
    author_id = principal.user_id
    requested_author = _as_int(body.get("user_id"))
    if requested_author is not None:
        author = store.users.get(requested_author)
        if author is None or author.company_id != company_id:
            return responses.fail(400, "User not found")
        author_id = author.id
    now = emulator.clock.now()
    add_time = body.get("add_time") if isinstance(body.get("add_time"), str) else v1_time(now)
    note_id = store.next_id("note")
    note = Note(
        company_id,
        {
            "id": note_id,
            "user_id": author_id,
            "deal_id": deal_id,
            "person_id": person_id,
            "org_id": org_id,
            "lead_id": lead_id,
            "project_id": None,
            "content": sanitize_html(content),
            "add_time": add_time,
            "update_time": v1_time(now),
            "active_flag": True,
            "pinned_to_deal_flag": _flag(body.get("pinned_to_deal_flag")),
            "pinned_to_organization_flag": _flag(body.get("pinned_to_organization_flag")),
            "pinned_to_person_flag": _flag(body.get("pinned_to_person_flag")),
            "pinned_to_lead_flag": _flag(body.get("pinned_to_lead_flag")),
            "pinned_to_project_flag": _flag(body.get("pinned_to_project_flag")),
            "last_update_user_id": author_id,
        },
    )
    store.notes[note_id] = note
    return responses.ok(_render_note(emulator, note, principal))


@operation("v1", "get", "/notes")
async def list_notes(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    principal = principal_of(request)
    notes = [
        n
        for n in emulator.store.notes.values()
        if n.company_id == principal.company_id and n.data["active_flag"]
    ]
    for name in ("deal_id", "person_id", "org_id", "user_id"):
        if name in request.query:
            wanted = _as_int(request.query[name])
            if wanted is None:
                return responses.fail(400, f"Invalid parameter {name}")
            notes = [n for n in notes if n.data[name] == wanted]
    if "lead_id" in request.query:
        notes = [n for n in notes if n.data["lead_id"] == request.query["lead_id"]]
    sort = request.query.get("sort", "id ASC")
    field, _, direction = sort.partition(" ")
    if field not in (
        "id",
        "user_id",
        "deal_id",
        "person_id",
        "org_id",
        "content",
        "add_time",
        "update_time",
    ):
        return responses.fail(400, "Invalid sort field")
    notes.sort(
        key=lambda n: (n.data[field] is None, n.data[field] or 0, n.data["id"]),
        reverse=direction.upper() == "DESC",
    )
    start = _as_int(request.query.get("start", "0"))
    limit = _as_int(request.query.get("limit", "100"))
    if start is None or limit is None or limit < 1:
        return responses.fail(400, "Invalid pagination parameters")
    limit = min(limit, 500)
    page = notes[start : start + limit]
    more = start + limit < len(notes)
    pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    # v1 list endpoints answer `data: null` (not []) when nothing matches.
    data = [_render_note(emulator, n, principal) for n in page] or None
    return responses.ok(data, {"pagination": pagination})


def _note_or_none(request: web.Request) -> Note | None:
    note_id = _as_int(request.match_info["id"])
    note = emulator_of(request).store.notes.get(note_id) if note_id is not None else None
    if note is None or note.company_id != principal_of(request).company_id:
        return None
    if not note.data["active_flag"]:
        return None
    return note


@operation("v1", "get", "/notes/{id}")
async def get_note(request: web.Request) -> web.Response:
    note = _note_or_none(request)
    if note is None:
        return responses.not_found("Note not found")
    return responses.ok(_render_note(emulator_of(request), note, principal_of(request)))


@operation("v1", "delete", "/notes/{id}")
async def delete_note(request: web.Request) -> web.Response:
    note = _note_or_none(request)
    if note is None:
        return responses.not_found("Note not found")
    note.data["active_flag"] = False
    return responses.ok(True)


# --------------------------------------------------------------------------- webhooks


def _visible_webhooks(emulator: Emulator, principal: Principal) -> list[Webhook]:
    hooks = [w for w in emulator.store.webhooks.values() if w.company_id == principal.company_id]
    if principal.kind == "oauth":
        # An app sees (and may delete) only the webhooks it created (`admin` scope text).
        hooks = [w for w in hooks if w.client_id == principal.client_id]
    return hooks


@operation("v1", "get", "/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    hooks = _visible_webhooks(emulator, principal_of(request))
    return web.json_response(
        {"status": "ok", "success": True, "data": [dict(w.data) for w in hooks]}
    )


def _valid_subscription_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    # "cannot be a Pipedrive API URL" (reference §9).
    return not parts.hostname.endswith("pipedrive.com")


@operation("v1", "post", "/webhooks")
async def add_webhook(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    principal = principal_of(request)
    body = await _body(request)
    errors: dict[str, list[str]] = {}
    for name in ("subscription_url", "event_action", "event_object", "name"):
        if not body.get(name):
            errors[name] = ["is required"]
    if "subscription_url" not in errors and not _valid_subscription_url(body["subscription_url"]):
        errors["subscription_url"] = ["invalid or non-reachable URL"]
    if "event_action" not in errors and body["event_action"] not in WEBHOOK_ACTIONS:
        errors["event_action"] = ["must be one of " + ", ".join(WEBHOOK_ACTIONS)]
    if "event_object" not in errors and body["event_object"] not in WEBHOOK_OBJECTS:
        errors["event_object"] = ["must be one of " + ", ".join(WEBHOOK_OBJECTS)]
    version = str(body.get("version") or "2.0")
    if version not in ("1.0", "2.0"):
        errors["version"] = ["must be one of 1.0, 2.0"]
    if isinstance(body.get("name"), str) and len(body["name"]) > 255:
        errors["name"] = ["is too long"]
    user_id = _as_int(body.get("user_id")) if body.get("user_id") is not None else None
    if user_id is not None:
        user = emulator.store.users.get(user_id)
        if user is None or user.company_id != principal.company_id:
            errors["user_id"] = ["not found"]
    if errors:
        return responses.webhook_errors(400, errors)
    owned = [
        w
        for w in emulator.store.webhooks.values()
        if w.company_id == principal.company_id and w.data["owner_id"] == principal.user_id
    ]
    if len(owned) >= MAX_WEBHOOKS_PER_USER:
        # "422 Unprocessable Entity (webhooks limit reached)"; the body wording is [U].
        return responses.webhook_errors(422, {"subscription_url": ["Webhooks limit reached"]})
    webhook_id = emulator.store.next_id("webhook")
    data = {
        "id": webhook_id,
        "company_id": principal.company_id,
        "owner_id": principal.user_id,
        "user_id": user_id or principal.user_id,
        "event_action": body["event_action"],
        "event_object": body["event_object"],
        "subscription_url": body["subscription_url"],
        "version": version,
        "is_active": 1,
        "add_time": iso_millis(emulator.clock.now()),
        "remove_time": None,
        "type": "application" if principal.kind == "oauth" else "general",
        "http_auth_user": body.get("http_auth_user") or None,
        "http_auth_password": body.get("http_auth_password") or None,
        "remove_reason": None,
        "last_delivery_time": None,
        "last_http_status": None,
        "admin_id": principal.user_id,
        "name": body["name"],
    }
    emulator.store.webhooks[webhook_id] = Webhook(
        principal.company_id, principal.client_id if principal.kind == "oauth" else None, data
    )
    return web.json_response({"status": "ok", "success": True, "data": dict(data)}, status=201)


@operation("v1", "delete", "/webhooks/{id}")
async def delete_webhook(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    principal = principal_of(request)
    webhook_id = _as_int(request.match_info["id"])
    webhook = emulator.store.webhooks.get(webhook_id) if webhook_id is not None else None
    if webhook is None or webhook.company_id != principal.company_id:
        return responses.webhook_errors(404, {"id": ["not found"]})
    if principal.kind == "oauth" and webhook.client_id != principal.client_id:
        return web.json_response({"success": False, "message": "Forbidden"}, status=403)
    del emulator.store.webhooks[webhook.data["id"]]
    return web.json_response({"status": "ok", "success": True})


def routes() -> list[web.RouteDef]:
    defs: list[web.RouteDef] = []
    for prefix in ("/v1", "/api/v1"):
        defs += [
            web.get(f"{prefix}/users/me", users_me),
            web.get(f"{prefix}/users/{{id}}", get_user),
            web.get(f"{prefix}/currencies", currencies),
            web.post(f"{prefix}/notes", add_note),
            web.get(f"{prefix}/notes", list_notes),
            web.get(f"{prefix}/notes/{{id}}", get_note),
            web.delete(f"{prefix}/notes/{{id}}", delete_note),
            web.get(f"{prefix}/webhooks", list_webhooks),
            web.post(f"{prefix}/webhooks", add_webhook),
            web.delete(f"{prefix}/webhooks/{{id}}", delete_webhook),
        ]
    return defs
