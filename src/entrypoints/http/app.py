"""create_app(): the aiohttp gateway with its middlewares and routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from application.ports.persistence import DatabaseProbe
from entrypoints.http.middlewares import request_context_middleware
from entrypoints.metrics import Metrics

DATABASE_PROBE = web.AppKey("database_probe", DatabaseProbe)
METRICS = web.AppKey("metrics", Metrics)
SyncFigures = Callable[[], Awaitable[dict[str, object]]]
SYNC_FIGURES = web.AppKey("sync_figures", SyncFigures)
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
    metrics = request.app[METRICS]
    figures = request.app.get(SYNC_FIGURES)
    if figures is not None:
        try:
            values = await figures()
        except Exception:  # a scrape must answer even when the database does not
            values = {}
        for queue, count in dict(values.get("jobs_waiting", {})).items():  # type: ignore[call-overload]
            metrics.jobs_waiting.labels(queue=queue).set(count)
        if "notices_pending" in values:
            metrics.notices_pending.set(float(values["notices_pending"]))  # type: ignore[arg-type]
        if "sync_lag_seconds" in values:
            metrics.sync_lag.set(float(values["sync_lag_seconds"]))  # type: ignore[arg-type]
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(
    *,
    database_probe: DatabaseProbe,
    metrics: Metrics,
    sync_figures: SyncFigures | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[request_context_middleware(metrics)], client_max_size=MAX_BODY_BYTES
    )
    app[DATABASE_PROBE] = database_probe
    app[METRICS] = metrics
    if sync_figures is not None:
        app[SYNC_FIGURES] = sync_figures
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/readyz", handle_readyz)
    app.router.add_get("/metrics", handle_metrics)
    return app
