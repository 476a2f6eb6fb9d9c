"""Pipedrive's response envelopes and error bodies (reference §11)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

ERROR_INFO = "Please check developers.pipedrive.com"


def ok(data: Any, additional_data: Any = None, *, status: int = 200, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"success": True, "data": data}
    if additional_data is not None:
        body["additional_data"] = additional_data
    body.update(extra)
    return web.json_response(body, status=status)


def fail(status: int, error: str, error_info: str = ERROR_INFO) -> web.Response:
    """The common 5-key failure body: success, error, error_info, data, additional_data."""
    return web.json_response(
        {
            "success": False,
            "error": error,
            "error_info": error_info,
            "data": None,
            "additional_data": None,
        },
        status=status,
    )


def unauthorized() -> web.Response:
    # The spec's 401 example is {"success", "error", "errorCode"}; live runs also show
    # `error_info` ([C-3p]), which real Pipedrive most likely sends, so we include it.
    return web.json_response(
        {
            "success": False,
            "error": "unauthorized access",
            "errorCode": 401,
            "error_info": ERROR_INFO,
        },
        status=401,
    )


def scope_mismatch() -> web.Response:
    # What Pipedrive answers an OAuth token lacking the operation's scope (observed on the live
    # API, e.g. pipedrive/client-php#14, solspace/craft-freeform#1596).
    return web.json_response(
        {
            "success": False,
            "error": "Scope and URL mismatch",
            "errorCode": 403,
            "error_info": ERROR_INFO,
        },
        status=403,
    )


def not_found(what: str) -> web.Response:
    return fail(404, what, "Object was not found.")


def validation_failed(message: str) -> web.Response:
    # v2 validation bodies are not exemplified in the spec ([U]); we use the 5-key shape.
    return fail(400, f"Validation failed: {message}")


def webhook_errors(status: int, errors: dict[str, list[str]]) -> web.Response:
    """Webhook endpoints use `status`/`errors` instead of `error` (reference §11)."""
    return web.json_response({"status": "error", "success": False, "errors": errors}, status=status)
