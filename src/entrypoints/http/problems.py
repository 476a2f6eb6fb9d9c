"""Exceptions -> RFC 9457 application/problem+json bodies, from the shared error catalog."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from application.errors import UpstreamUnavailableError
from application.reasons import Reason
from domain.errors import InvalidValueError
from entrypoints import error_catalog

PROBLEM_JSON = "application/problem+json"


def _kebab(reason: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-")


def problem_response(
    *,
    status: int,
    title: str,
    detail: str,
    reason: str,
    instance: str,
    request_id: str,
    metadata: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": f"https://dealbooks.dev/errors/{_kebab(reason)}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "reason": reason,
        "domain": error_catalog.ERROR_DOMAIN,
        "metadata": metadata or {},
        "request_id": request_id,
    }
    body.update(extra or {})
    return web.json_response(body, status=status, content_type=PROBLEM_JSON, headers=headers)


def exception_to_problem(exc: Exception, *, instance: str, request_id: str) -> web.Response:
    entry = error_catalog.lookup(exc)
    if entry is error_catalog.INTERNAL:
        return problem_response(
            status=500,
            title=entry.title,
            detail=error_catalog.INTERNAL_MESSAGE,
            reason=Reason.INTERNAL,
            instance=instance,
            request_id=request_id,
        )
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidValueError):
        extra["errors"] = [
            {"field": v.field, "detail": v.description, "code": v.code, "params": dict(v.params)}
            for v in exc.violations
        ]
    if isinstance(exc, UpstreamUnavailableError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after_seconds)))
    return problem_response(
        status=entry.http_status,
        title=entry.title,
        detail=getattr(exc, "message", str(exc)),
        reason=getattr(exc, "reason", "ERROR"),
        instance=instance,
        request_id=request_id,
        metadata=error_catalog.wire_metadata(exc),
        extra=extra,
        headers=headers,
    )
