"""Deal visibility over HTTP: `GET /v1/deals/{id}/permittedUsers` (the ids of the users
permitted to access the deal, a list of integers as the spec's example shows) and `GET` /
`POST /v1/deals/{id}/followers`. The rule and its approximations: ``access``."""

from __future__ import annotations

from aiohttp import web

from . import responses
from .access import add_follower, permitted_users
from .api_v1 import _as_int, _body
from .auth import operation, principal_of
from .clock import v1_time
from .state import emulator_of
from .store import Record


def _deal(request: web.Request) -> Record | None:
    raw = request.match_info["id"]
    if not raw.isdigit():
        return None
    store = emulator_of(request).store
    deal = store.get_record("deal", principal_of(request).company_id, int(raw))
    if deal is None or deal.data.get("is_deleted"):
        return None
    return deal


@operation("v1", "get", "/deals/{id}/permittedUsers")
async def list_permitted_users(request: web.Request) -> web.Response:
    deal = _deal(request)
    if deal is None:
        return responses.not_found("Deal not found")
    return responses.ok(permitted_users(emulator_of(request).store, deal))


@operation("v1", "get", "/deals/{id}/followers")
async def list_followers(request: web.Request) -> web.Response:
    deal = _deal(request)
    if deal is None:
        return responses.not_found("Deal not found")
    followers = emulator_of(request).store.deal_followers.get(deal.data["id"], [])
    pagination = {"start": 0, "limit": 100, "more_items_in_collection": False}
    return responses.ok([dict(f) for f in followers], {"pagination": pagination})


@operation("v1", "post", "/deals/{id}/followers")
async def post_follower(request: web.Request) -> web.Response:
    deal = _deal(request)
    if deal is None:
        return responses.not_found("Deal not found")
    user_id = _as_int((await _body(request)).get("user_id"))
    emulator = emulator_of(request)
    user = emulator.store.users.get(user_id) if user_id is not None else None
    if user is None or user.company_id != deal.company_id:
        return responses.fail(400, "User not found")
    record = add_follower(emulator.store, deal, user.id, v1_time(emulator.clock.now()))
    return responses.ok(dict(record))


def routes() -> list[web.RouteDef]:
    defs: list[web.RouteDef] = []
    for prefix in ("/v1", "/api/v1"):
        defs += [
            web.get(f"{prefix}/deals/{{id}}/permittedUsers", list_permitted_users),
            web.get(f"{prefix}/deals/{{id}}/followers", list_followers),
            web.post(f"{prefix}/deals/{{id}}/followers", post_follower),
        ]
    return defs
