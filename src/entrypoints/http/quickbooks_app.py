"""QuickBooks routes of the HTTP gateway: connect (OAuth start + callback), disconnect, webhooks.

- ``GET /oauth/quickbooks/start?company_id=…``: an authenticated Pipedrive admin -> 302 to Intuit.
- ``GET /oauth/quickbooks/callback``: checks ``state``; success -> 302 back to the settings page;
  any failure (``error=access_denied``, bad, used or expired state, refused code) -> a friendly
  HTML page with 400 (503 when QuickBooks is unreachable), never a 500.
- ``POST /oauth/quickbooks/disconnect``: an admin -> revoke + forget -> 303 to the settings page.
- ``POST /webhooks/quickbooks``: ``intuit-signature`` must be the base64 HMAC-SHA256 of the raw
  body with the verifier token (compared in constant time; 401 otherwise, the handler not
  called); the body must be a classic ``eventNotifications`` object or a CloudEvents array (400
  otherwise); then ``on_webhook(raw_body, parsed)`` and 200. Processing belongs elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import structlog
from aiohttp import web

from application.auth import Principal
from application.connections import (
    CompleteQuickBooksConnect,
    DisconnectQuickBooks,
    StartQuickBooksConnect,
)
from application.errors import (
    ApplicationError,
    PermissionDeniedError,
    UnauthenticatedError,
    UpstreamUnavailableError,
)
from application.ports.sync import ChangeNotice
from application.sync import RecordChangeNotices
from domain.errors import DomainError
from entrypoints.http.problems import html_page

log = structlog.get_logger("dealbooks.http")

AuthenticateUi = Callable[[web.Request], Awaitable[Principal]]
OnWebhook = Callable[[bytes, Any], Awaitable[None]]


def signature_of(body: bytes, verifier_token: str) -> str:
    """Intuit's ``intuit-signature``: base64(HMAC-SHA256(verifier token, raw body))."""
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(body: bytes, header: str | None, verifier_token: str) -> bool:
    if not header or not verifier_token:
        return False
    return hmac.compare_digest(header.strip().encode(), signature_of(body, verifier_token).encode())


def webhook_format(payload: Any) -> str | None:
    """ "classic" for ``{"eventNotifications": [...]}``, "cloudevents" for an array of
    CloudEvents (``specversion``, ``id``, ``type``), else None."""
    if isinstance(payload, dict) and isinstance(payload.get("eventNotifications"), list):
        return "classic"
    if (
        isinstance(payload, list)
        and payload
        and all(
            isinstance(event, dict)
            and isinstance(event.get("specversion"), str)
            and isinstance(event.get("id"), str)
            and isinstance(event.get("type"), str)
            for event in payload
        )
    ):
        return "cloudevents"
    return None


def _page(title: str, message: str, back: str, status: int) -> web.Response:
    return html_page(status, title, message, back=back, back_text="Back to the dealbooks settings")


def _with_query(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _company_of(request: web.Request, principal: Principal, form: Any = None) -> str:
    company = request.query.get("company_id") or (form.get("company_id") if form else None)
    if not company and principal.companies is not None and len(principal.companies) == 1:
        company = next(iter(principal.companies))
    if not company:
        raise UnauthenticatedError("Open dealbooks from Pipedrive to manage the connection.")
    return str(company)


def _error_page(exc: Exception, settings_url: str) -> web.Response:
    if isinstance(exc, UnauthenticatedError):
        return _page("Please sign in", exc.message, settings_url, 401)
    if isinstance(exc, PermissionDeniedError):
        return _page("Admins only", exc.message, settings_url, 403)
    if isinstance(exc, UpstreamUnavailableError):
        return _page(
            "QuickBooks is not answering",
            "QuickBooks could not be reached just now. Please try again in a minute.",
            settings_url,
            503,
        )
    message = exc.message if isinstance(exc, ApplicationError) else str(exc)
    return _page("QuickBooks was not connected", message, settings_url, 400)


def notices_recorder(
    record: RecordChangeNotices, parse: Callable[[Any], Sequence[ChangeNotice]]
) -> OnWebhook:
    """``on_webhook`` for the service: the payload's notices stored once, with their job (no
    QuickBooks call): the answer leaves as soon as that is committed."""

    async def on_webhook(raw: bytes, parsed: Any) -> None:
        try:
            notices = parse(parsed)
        except ValueError:  # a QuickBooks format, but nothing we can read in it
            return
        if notices:
            await record.execute(notices)

    return on_webhook


def add_quickbooks_routes(
    app: web.Application,
    *,
    start_connect: StartQuickBooksConnect,
    complete_connect: CompleteQuickBooksConnect,
    disconnect: DisconnectQuickBooks,
    authenticate_ui: AuthenticateUi,
    settings_url: str,
    webhook_verifier_token: str,
    on_webhook: OnWebhook,
) -> None:
    async def handle_quickbooks_connect_start(request: web.Request) -> web.StreamResponse:
        try:
            principal = await authenticate_ui(request)
            company_id = _company_of(request, principal)
            started = await start_connect.execute(principal, company_id, return_to=settings_url)
        except (ApplicationError, DomainError) as exc:
            log.info("quickbooks.connect_refused", reason=getattr(exc, "reason", ""))
            return _error_page(exc, settings_url)
        raise web.HTTPFound(started.authorization_url)

    async def handle_quickbooks_callback(request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            done = await complete_connect.execute(
                state=query.get("state", ""),
                code=query.get("code"),
                realm_id=query.get("realmId"),
                error=query.get("error"),
            )
        except (ApplicationError, DomainError) as exc:
            log.info("quickbooks.callback_refused", reason=getattr(exc, "reason", ""))
            return _error_page(exc, settings_url)
        except Exception:
            log.exception("quickbooks.callback_failed")
            return _page(
                "QuickBooks was not connected",
                "Something went wrong on our side. Please try connecting again.",
                settings_url,
                502,
            )
        raise web.HTTPFound(_with_query(done.return_to or settings_url, quickbooks="connected"))

    async def handle_quickbooks_disconnect(request: web.Request) -> web.StreamResponse:
        try:
            form = await request.post()
            principal = await authenticate_ui(request)
            company_id = _company_of(request, principal, form)
            await disconnect.execute(principal, company_id)
        except (ApplicationError, DomainError) as exc:
            return _error_page(exc, settings_url)
        raise web.HTTPSeeOther(_with_query(settings_url, quickbooks="disconnected"))

    async def handle_quickbooks_webhook(request: web.Request) -> web.Response:
        raw = await request.read()
        if not signature_is_valid(
            raw, request.headers.get("intuit-signature"), webhook_verifier_token
        ):
            log.warning("quickbooks.webhook_rejected", why="signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "body is not JSON"}, status=400)
        kind = webhook_format(payload)
        if kind is None:
            return web.json_response({"error": "not a QuickBooks webhook payload"}, status=400)
        structlog.contextvars.bind_contextvars(vendor="quickbooks", webhook_format=kind)
        await on_webhook(raw, payload)  # the request's http.completed line says what came
        return web.json_response({"status": "ok"})

    app.router.add_get("/oauth/quickbooks/start", handle_quickbooks_connect_start)
    app.router.add_get("/oauth/quickbooks/callback", handle_quickbooks_callback)
    app.router.add_post("/oauth/quickbooks/disconnect", handle_quickbooks_disconnect)
    app.router.add_post("/webhooks/quickbooks", handle_quickbooks_webhook)
