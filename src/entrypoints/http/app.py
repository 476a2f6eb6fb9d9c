"""create_app(): the aiohttp gateway with its middlewares and routes."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from application.ports.persistence import DatabaseProbe
from entrypoints.http.middlewares import request_context_middleware
from entrypoints.metrics import Metrics

SyncFigures = Callable[[], Awaitable[Mapping[str, Any]]]
MAX_BODY_BYTES = 1024 * 1024


async def handle_healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(
    *,
    database_probe: DatabaseProbe,
    metrics: Metrics,
    sync_figures: SyncFigures,
    draining: Callable[[], bool] = lambda: False,
) -> web.Application:
    async def handle_readyz(request: web.Request) -> web.Response:
        if draining():  # stopping: the balancer takes this replica out while it still serves
            return web.json_response({"status": "draining", "checks": {}}, status=503)
        try:
            await database_probe.ping()
        except Exception as exc:  # readiness reports any failure; it never raises
            metrics.database_up.set(0)
            return web.json_response(
                {"status": "unavailable", "checks": {"database": type(exc).__name__}}, status=503
            )
        metrics.database_up.set(1)
        return web.json_response({"status": "ok", "checks": {"database": "ok"}})

    async def handle_metrics(request: web.Request) -> web.Response:
        with contextlib.suppress(Exception):  # a scrape answers even when the database does not
            values = await sync_figures()
            for queue, count in values["jobs_waiting"].items():
                metrics.jobs_waiting.labels(queue=queue).set(count)
            metrics.notices_pending.set(values["notices_pending"])
            metrics.sync_lag.set(values["sync_lag_seconds"])
            metrics.quickbooks_reads_month.set(values["quickbooks_reads_month"])
            metrics.quickbooks_reads_rationed.set(int(bool(values["quickbooks_reads_rationed"])))
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(
        middlewares=[request_context_middleware(metrics)], client_max_size=MAX_BODY_BYTES
    )
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/readyz", handle_readyz)
    app.router.add_get("/metrics", handle_metrics)
    return app
