"""Request context (request id, access log, metrics) and error rendering for every route."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from application.reasons import Reason
from entrypoints import error_catalog
from entrypoints.http.problems import exception_to_problem, problem_response
from entrypoints.log_config import safe_request_id
from entrypoints.metrics import Metrics

log = structlog.get_logger("dealbooks.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_REASONS = {
    400: Reason.BAD_REQUEST,
    401: Reason.MISSING_CREDENTIALS,
    403: Reason.NOT_ALLOWED,
    404: Reason.ROUTE_NOT_FOUND,
    405: Reason.METHOD_NOT_ALLOWED,
    413: Reason.REQUEST_TOO_LARGE,
    415: Reason.UNSUPPORTED_MEDIA_TYPE,
}


def request_context_middleware(metrics: Metrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = safe_request_id(request.headers.get("x-request-id"))
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, http_method=request.method, route=route
        )
        status = 500
        try:
            response = await _render_errors(request, handler, request_id)
            status = response.status
            response.headers["x-request-id"] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            metrics.http_requests.labels(route=route, status=str(status)).inc()
            metrics.http_duration.labels(route=route).observe(elapsed)
            if route not in ("/healthz", "/metrics"):
                log.info("http.completed", status=status, duration_ms=round(elapsed * 1000, 2))

    return middleware


async def _render_errors(
    request: web.Request, handler: Handler, request_id: str
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(
            status=exc.status,
            title=exc.reason,
            detail=exc.text
            if exc.text and not exc.text.startswith(f"{exc.status}:")
            else exc.reason,
            reason=_REASONS.get(exc.status, Reason.HTTP_ERROR),
            instance=request.path,
            request_id=request_id,
            headers={k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")},
        )
    except Exception as exc:
        if not error_catalog.is_expected(exc):
            log.exception("http.failed")
        return exception_to_problem(exc, instance=request.path, request_id=request_id)
