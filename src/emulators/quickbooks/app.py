"""The aiohttp application: wiring, middlewares (intuit_tid, request log, fault injection)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from . import faults
from .accounting import AccountingRoutes
from .admin import AdminRoutes
from .chaos import Chaos, Rule
from .clock import Clock
from .config import EmulatorConfig
from .limits import LATENCY_MS, Throttle
from .metering import Meter
from .oauth import OAuthRoutes, TokenStore
from .ops import Accounting
from .seed import demo_intl, demo_us
from .store import Store
from .webhooks import Webhooks
from .wire import new_tid

log = logging.getLogger(__name__)
ADMIN_PREFIX = "/_emulator/"
REQUEST_LOG_LIMIT = 5000


class Emulator:
    """Everything one emulator instance owns."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.clock = Clock()
        self.store = Store(self.clock)
        self.tokens = TokenStore(config, self.clock)
        self.throttle = Throttle(config.limits)
        self.meter = Meter(self.clock, self._configured_quotas())
        self.chaos = Chaos()
        self.webhooks = Webhooks(config, self.clock)
        self.store.listeners.append(self.webhooks.on_change)
        self.ops = Accounting(self.store)
        self.requests: list[dict[str, Any]] = []
        self.closing = asyncio.Event()
        if config.seed_demo:
            self.seed_demo()

    def _configured_quotas(self) -> dict[str, int]:
        quota = self.config.coreplus_monthly_quota
        return {} if quota is None else {self.config.client_id: quota}

    def seed_demo(self) -> None:
        now = self.clock.now()
        self.store.add(demo_us(self.config.us_realm_id, now))
        self.store.add(demo_intl(self.config.intl_realm_id, now))

    def reset(self, *, seed: bool | None = None) -> None:
        self.store.clear()
        self.tokens.clear()
        self.throttle.reset()
        self.meter.reset(self._configured_quotas())
        self.chaos.clear()
        self.webhooks.reset()
        self.requests.clear()
        self.clock.reset()
        if self.config.seed_demo if seed is None else seed:
            self.seed_demo()


EMULATOR = web.AppKey("quickbooks_emulator", Emulator)


def _realm_of(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "v3" and parts[2] == "company":
        return parts[3]
    return None


@web.middleware
async def tid_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    tid = new_tid()
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["intuit_tid"] = tid
        raise
    response.headers["intuit_tid"] = tid
    return response


def _injected_response(emulator: Emulator, request: web.Request, rule: Rule) -> web.Response:
    assert rule.status is not None
    now = emulator.clock.now()
    if rule.body is not None:
        return web.json_response(rule.body, status=rule.status)
    if rule.status == 401:
        return faults.auth_failed_response("Token expired: injected", int(now.timestamp() * 1000))
    if rule.fault:
        err = faults.QBOError(
            str(rule.fault.get("code", "6000")),
            str(rule.fault.get("message", "Injected fault")),
            str(rule.fault.get("detail", "Injected by the emulator")),
            element=str(rule.fault.get("element", "")),
            fault_type=str(rule.fault.get("type", "ValidationFault")),
            status=rule.status,
        )
    elif rule.status == 429:
        err = faults.throttle_error()
    elif rule.status == 403:
        err = faults.authorization_failed("Injected authorization failure")
    elif rule.status == 503:
        err = faults.service_unavailable()
    elif rule.status >= 500:
        err = faults.application_error()
        err.status = rule.status
    else:
        err = faults.business("Injected fault")
        err.status = rule.status
    xml = (
        rule.xml
        or (err.status == 429 and emulator.config.limits.throttle_body == "xml")
        or faults.wants_xml(request)
    )
    return faults.fault_response(err, now.isoformat(timespec="milliseconds"), xml=xml)


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


@web.middleware
async def emulator_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    emulator = request.app[EMULATOR]
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    realm = _realm_of(request.path)
    raw = await request.read()
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "realm": realm,
        "time": emulator.clock.now().isoformat(),
        "headers": dict(request.headers),
        "body": raw.decode("utf-8", errors="replace")[:20000],
        "status": None,
    }
    emulator.requests.append(entry)
    del emulator.requests[:-REQUEST_LOG_LIMIT]
    rule = emulator.chaos.pick(request.method, request.path, realm)
    if rule is not None:
        entry["fault"] = rule.rule_id
        if rule.latency_ms and realm is not None:
            # Slept inside the throttle window, so a slow request counts as in flight.
            request[LATENCY_MS] = rule.latency_ms
        elif rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.timeout:
            hang = emulator.config.hang_seconds if rule.hang_seconds is None else rule.hang_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(emulator.closing.wait(), hang)
            entry["status"] = 504
            _drop(request)
            raise asyncio.CancelledError
        if rule.drop_before:
            entry["status"] = "dropped"
            _drop(request)
            raise asyncio.CancelledError
        if rule.status:
            response = _injected_response(emulator, request, rule)
            entry["status"] = response.status
            return response
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        entry["status"] = exc.status
        raise
    except Exception:
        log.exception("emulator error on %s %s", request.method, request.path)
        err = faults.application_error()
        response = faults.fault_response(
            err, emulator.clock.now().isoformat(timespec="milliseconds")
        )
    entry["status"] = response.status
    if rule is not None and rule.drop_after_commit:
        entry["status"] = f"dropped-after-{response.status}"
        _drop(request)
        raise asyncio.CancelledError
    return response


async def _on_shutdown(app: web.Application) -> None:
    emulator = app[EMULATOR]
    emulator.closing.set()
    await emulator.webhooks.close()


def create_app(config: EmulatorConfig | None = None) -> web.Application:
    config = config or EmulatorConfig()
    emulator = Emulator(config)
    app = web.Application(middlewares=[tid_middleware, emulator_middleware])
    app[EMULATOR] = emulator
    OAuthRoutes(config, emulator.tokens, emulator.store).register(app)
    AccountingRoutes(
        config, emulator.store, emulator.tokens, emulator.throttle, emulator.ops, emulator.meter
    ).register(app)
    AdminRoutes(emulator).register(app)
    app.on_shutdown.append(_on_shutdown)
    return app
