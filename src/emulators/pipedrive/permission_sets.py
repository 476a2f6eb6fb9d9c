"""Permission sets: `GET /v1/permissionSets` and each user's `access[].permission_set_id`.

Every company has Pipedrive's built-in sets (the five of the spec's example: Deals admin,
Deals regular user, Global admin, Global regular user, Account settings) with ids of its own,
and custom sets added through the admin API. A user holds one set per app: admins the admin
sets (and Account settings), others the regular ones, or the custom sales set assigned to
them. [U]: Pipedrive's manager sets and the other apps (projects, campaigns ...) are left
out; ids are UUID-shaped and derived from the company, not random.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from . import responses
from .auth import operation, principal_of
from .state import emulator_of
from .store import Company, Store, User

BUILT_IN = (
    # (key, name, app, type, description)
    (
        "deals-admin",
        "Deals admin",
        "sales",
        "admin",
        "See and edit all sales data (deals, leads), manage company-level sales setup",
    ),
    (
        "deals-regular",
        "Deals regular user",
        "sales",
        "regular",
        "Access to sales data (deals, leads); the default for new users.",
    ),
    (
        "global-admin",
        "Global admin",
        "global",
        "admin",
        "See and edit all cross-product data and access related features",
    ),
    (
        "global-regular",
        "Global regular user",
        "global",
        "regular",
        "Access to cross-product data; the default for new users.",
    ),
    (
        "account-settings",
        "Account settings",
        "account_settings",
        "admin",
        "Access company account level features and setup",
    ),
)


def set_id(company_id: int, key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pipedrive-emulator:{company_id}:{key}"))


def permission_sets(company: Company) -> list[dict[str, Any]]:
    built_in = [
        {"id": set_id(company.id, key), "name": name, "app": app, "type": kind, "description": d}
        for key, name, app, kind, d in BUILT_IN
    ]
    return built_in + [dict(s) for s in company.custom_permission_sets]


def access_of(user: User) -> list[dict[str, Any]]:
    """The user's `access` entries, one per app."""
    admin = user.is_admin
    sales = set_id(user.company_id, "deals-admin" if admin else "deals-regular")
    if not admin and user.sales_permission_set:
        sales = user.sales_permission_set
    access = [
        {"app": "sales", "admin": admin, "permission_set_id": sales},
        {
            "app": "global",
            "admin": admin,
            "permission_set_id": set_id(
                user.company_id, "global-admin" if admin else "global-regular"
            ),
        },
    ]
    if admin:
        access.append(
            {
                "app": "account_settings",
                "admin": True,
                "permission_set_id": set_id(user.company_id, "account-settings"),
            }
        )
    return access


def add_custom_set(store: Store, company: Company, name: str, app: str = "sales") -> dict[str, Any]:
    entry = {
        "id": set_id(company.id, f"custom:{len(company.custom_permission_sets)}:{name}"),
        "name": name,
        "app": app,
        "type": "custom",
        "description": "",
    }
    company.custom_permission_sets.append(entry)
    return entry


@operation("v1", "get", "/permissionSets")
async def list_permission_sets(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    company = emulator.store.companies[principal_of(request).company_id]
    users = emulator.store.users_of(company.id)
    app = request.query.get("app")
    data = []
    for entry in permission_sets(company):
        if app and entry["app"] != app:
            continue
        count = sum(1 for u in users for a in access_of(u) if a["permission_set_id"] == entry["id"])
        data.append({**entry, "assignment_count": count})
    return responses.ok(data)


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{prefix}/permissionSets", list_permission_sets) for prefix in ("/v1", "/api/v1")
    ]
