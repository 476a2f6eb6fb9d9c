"""The aiohttp application: routes, middlewares (request log, faults, API guard)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from . import (
    activities,
    admin,
    api_v1,
    api_v2,
    conformance,
    oauth,
    permission_sets,
    responses,
    visibility,
)
from .auth import PRINCIPAL_KEY, Principal, api_guard, operation_marker
from .clock import iso_millis
from .config import EmulatorConfig
from .openapi import load_spec, specs_available
from .state import EMULATOR_KEY, Emulator, emulator_of

API_PREFIXES = ("/api/v2/", "/api/v1/", "/v1/")
_LOGGED_HEADERS = ("Authorization", "x-api-token", "Content-Type", "User-Agent", "Accept")


def _redact(name: str, value: str) -> str:
    if name.lower() in ("authorization", "x-api-token") and len(value) > 16:
        return value[:12] + "..."
    return value


@web.middleware
async def request_log(request: web.Request, handler: Any) -> web.StreamResponse:
    """Record every non-admin request (method, path, query, headers, body, status)."""
    if request.path.startswith(admin.PREFIX + "/"):
        return await handler(request)
    emulator = emulator_of(request)
    body = await request.text() if request.can_read_body else None
    entry: dict[str, Any] = {
        "id": len(emulator.requests) + 1,
        "time": iso_millis(emulator.clock.now()),
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "headers": {
            name: _redact(name, request.headers[name])
            for name in _LOGGED_HEADERS
            if name in request.headers
        },
        "body": body,
        "status": None,
        "company_id": None,
        "user_id": None,
        "auth": None,
    }
    emulator.requests.append(entry)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        entry["status"] = exc.status
        raise
    entry["status"] = response.status
    principal: Principal | None = request.get(PRINCIPAL_KEY)
    if principal is not None:
        entry.update(
            company_id=principal.company_id, user_id=principal.user_id, auth=principal.kind
        )
    return response


@web.middleware
async def fault_injection(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith(admin.PREFIX + "/"):
        return await handler(request)
    emulator = emulator_of(request)
    fault = emulator.faults.match(request.method, request.path)
    if fault is None:
        return await handler(request)
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.status is not None:
        if fault.body is None:
            response: web.StreamResponse = responses.fail(fault.status, _status_text(fault.status))
        elif isinstance(fault.body, str):
            response = web.Response(status=fault.status, text=fault.body, content_type="text/html")
        else:
            response = web.json_response(fault.body, status=fault.status)
    else:
        response = await handler(request)
    response.headers.update(fault.headers)
    if fault.drop:
        # The work is done (committed); the client never gets the answer.
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError
    return response


def _status_text(status: int) -> str:
    return {
        400: "Bad request",
        401: "unauthorized access",
        402: "Company account is not open (possible reason: trial expired, payment details not "
        "entered)",
        403: "You do not have permissions to do this.",
        404: "Not found",
        410: "Gone",
        429: "Request over limit",
        500: "Internal server error",
        502: "Bad gateway",
        503: "Service is temporarily unavailable",
    }.get(status, "Error")


@web.middleware
async def json_not_found(request: web.Request, handler: Any) -> web.StreamResponse:
    """Unknown API paths/methods answer JSON like the real API, not aiohttp's text page."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.path.startswith(API_PREFIXES):
            return responses.fail(404, "Unknown method .")
        raise
    except web.HTTPMethodNotAllowed:
        if request.path.startswith(API_PREFIXES):
            return responses.fail(405, "Method not allowed")
        raise


async def _index(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    return web.json_response(
        {
            "emulator": "pipedrive",
            "api_domain": emulator.base_url(request),
            "oauth": f"{emulator.base_url(request)}/oauth/authorize",
            "demo": emulator.demo,
        }
    )


async def _warm_specs(app: web.Application) -> None:
    if specs_available():
        await asyncio.to_thread(load_spec, "v1")
        await asyncio.to_thread(load_spec, "v2")


async def _close(app: web.Application) -> None:
    await app[EMULATOR_KEY].webhooks.close()


def create_app(config: EmulatorConfig | None = None) -> web.Application:
    """Build the emulator application (state lives on the app; one app = one fresh world)."""
    config = config or EmulatorConfig()
    middlewares = [admin.admin_errors, request_log, fault_injection, json_not_found, api_guard]
    if conformance.validation_enabled():
        middlewares.insert(0, conformance.make_validating_middleware(operation_marker))
    app = web.Application(middlewares=middlewares)
    app[EMULATOR_KEY] = Emulator(config)
    app.router.add_get("/", _index)
    app.add_routes(api_v2.routes())
    app.add_routes(api_v1.routes())
    app.add_routes(visibility.routes())
    app.add_routes(permission_sets.routes())
    app.add_routes(activities.routes())
    app.add_routes(oauth.routes())
    app.add_routes(admin.routes())
    app.on_startup.append(_warm_specs)
    app.on_cleanup.append(_close)
    return app
