"""POST /webhooks/pipedrive: Basic auth (the credentials our subscriptions carry), then handled."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

log = structlog.get_logger("dealbooks.http.pipedrive_webhooks")
OnCrmWebhook = Callable[[bytes], Awaitable[str]]  # raises ValueError for a malformed body
MAX_BODY = 256 * 1024


def _authorized(header: str, user: str, password: str) -> bool:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given_user, _, given_password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return user_ok and password_ok


def add_pipedrive_webhook_route(
    app: web.Application, *, user: str, password: str, on_change: OnCrmWebhook
) -> None:
    async def handle_pipedrive_webhook(request: web.Request) -> web.Response:
        if not _authorized(request.headers.get("Authorization", ""), user, password):
            raise web.HTTPUnauthorized(
                headers={"WWW-Authenticate": 'Basic realm="dealbooks"'},
                text="These are not the credentials of our Pipedrive webhooks.",
            )
        raw = await request.read()
        if len(raw) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
        try:
            outcome = await on_change(raw)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"Not a Pipedrive webhook: {exc}") from None
        return web.json_response({"status": "ok", "outcome": outcome})

    app.router.add_post("/webhooks/pipedrive", handle_pipedrive_webhook)
