"""create_app(): the aiohttp gateway with its middlewares and routes."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from application.ports.persistence import DatabaseProbe
from entrypoints.http.middlewares import request_context_middleware
from entrypoints.metrics import Metrics

DATABASE_PROBE = web.AppKey("database_probe", DatabaseProbe)
METRICS = web.AppKey("metrics", Metrics)
MAX_BODY_BYTES = 1024 * 1024


async def handle_healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def handle_readyz(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    try:
        await request.app[DATABASE_PROBE].ping()
    except Exception as exc:  # readiness reports any failure; it never raises
        metrics.database_up.set(0)
        return web.json_response(
            {"status": "unavailable", "checks": {"database": type(exc).__name__}}, status=503
        )
    metrics.database_up.set(1)
    return web.json_response({"status": "ok", "checks": {"database": "ok"}})


async def handle_metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(*, database_probe: DatabaseProbe, metrics: Metrics) -> web.Application:
    app = web.Application(
        middlewares=[request_context_middleware(metrics)], client_max_size=MAX_BODY_BYTES
    )
    app[DATABASE_PROBE] = database_probe
    app[METRICS] = metrics
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/readyz", handle_readyz)
    app.router.add_get("/metrics", handle_metrics)
    return app
