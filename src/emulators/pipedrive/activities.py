"""Activities (API v2): `POST /api/v2/activities` and `GET /api/v2/activities` (filtered by
deal, done; cursor pagination), in the spec's shape.

[U]: the note is kept as sent (Pipedrive sanitizes HTML as for notes; we drop scripts and
event handlers the same way), `type` defaults to "task", the owner to the token's user; the
activity types catalogue (`/activityTypes`) is not emulated, so any type name is taken; links
and fields not set are left out of the answer (the spec makes none of them nullable).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import responses
from .api_v1 import sanitize_html
from .api_v2 import _json_body
from .auth import operation, principal_of
from .clock import v2_time
from .model import ValidationError
from .pagination import int_param, paginate
from .state import emulator_of
from .store import Record

_TEXT = ("subject", "type", "due_date", "due_time", "duration", "note", "public_description")


def _render(record: Record) -> dict[str, Any]:
    return dict(record.data)


@operation("v2", "post", "/activities")
async def add_activity(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    principal = principal_of(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise ValidationError("body: Expected object")
    for name in _TEXT:
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise ValidationError(f"{name}: Expected string, received {type(body[name]).__name__}")
    for name in ("deal_id", "person_id", "org_id", "owner_id"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationError(f"{name}: Expected number")
    for name in ("done", "busy"):
        if name in body and not isinstance(body[name], bool):
            raise ValidationError(f"{name}: Expected boolean")
    store = emulator.store
    deal_id = body.get("deal_id")
    if deal_id is not None:
        deal = store.get_record("deal", principal.company_id, deal_id)
        if deal is None or deal.data["is_deleted"]:
            return responses.fail(404, "Deal not found")  # [U] wording
    now = v2_time(emulator.clock.now())
    done = bool(body.get("done", False))
    activity_id = store.next_id("activity")
    data: dict[str, Any] = {
        "id": activity_id,
        "subject": body.get("subject") or "Call",
        "type": body.get("type") or "task",
        "owner_id": body.get("owner_id") or principal.user_id,
        "creator_user_id": principal.user_id,
        "is_deleted": False,
        "add_time": now,
        "update_time": now,
        "deal_id": deal_id,
        "lead_id": body.get("lead_id"),
        "person_id": body.get("person_id"),
        "org_id": body.get("org_id"),
        "project_id": None,
        "due_date": body.get("due_date") or now[:10],
        "due_time": body.get("due_time") or "",
        "duration": body.get("duration") or "",
        "busy": bool(body.get("busy", False)),
        "done": done,
        "marked_as_done_time": now if done else "",
        "location": None,
        "participants": [],
        "attendees": [],
        "conference_meeting_client": None,
        "conference_meeting_url": None,
        "conference_meeting_id": None,
        "public_description": body.get("public_description") or "",
        "priority": None,
        "note": sanitize_html(body["note"]) if body.get("note") else "",
    }
    # The spec makes none of these nullable: a link or field not set is left out ([U]).
    data = {k: v for k, v in data.items() if v is not None}
    store.activities[activity_id] = Record(principal.company_id, data)
    return responses.ok(dict(data))


@operation("v2", "get", "/activities")
async def list_activities(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    company_id = principal_of(request).company_id
    found = [
        a
        for a in emulator.store.activities.values()
        if a.company_id == company_id and not a.data["is_deleted"]
    ]
    for name in ("deal_id", "person_id", "org_id", "owner_id"):
        wanted = int_param(request, name)
        if wanted is not None:
            found = [a for a in found if a.data.get(name) == wanted]
    done = request.query.get("done")
    if done is not None:
        if done not in ("true", "false"):
            raise ValidationError("done: Expected boolean")
        found = [a for a in found if a.data["done"] is (done == "true")]
    page, next_cursor = paginate(
        request,
        found,
        sort_fields=("id", "update_time", "add_time", "due_date"),
        value_of=lambda a, f: a.data[f],
        id_of=lambda a: a.data["id"],
    )
    return responses.ok([_render(a) for a in page], {"next_cursor": next_cursor})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/v2/activities", list_activities),
        web.post("/api/v2/activities", add_activity),
    ]
