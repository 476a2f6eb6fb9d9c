"""QuickBooks routes of the HTTP gateway: connect (OAuth start + callback), disconnect, webhooks.

- ``GET /oauth/quickbooks/start?company_id=…``: an authenticated Pipedrive admin -> 302 to Intuit
  (the settings page's Connect; with a connection stored, bound to its QuickBooks company).
- ``GET /oauth/quickbooks/callback``: checks ``state``; success -> 302 back to the settings page;
  any failure (``error=access_denied``, bad, used or expired state, refused code) -> 303 to
  ``/oauth/quickbooks/result?outcome=…``, a friendly page with 400 (503 when QuickBooks is
  unreachable), never a 500. Routes whose URL or body carries a code or a token (start: the
  Pipedrive JWT; callback: Intuit's code; disconnect) only ever answer with a redirect.
- ``POST /oauth/quickbooks/disconnect``: an admin -> revoke + forget -> 303 to the settings page.
- The URLs Intuit's portal asks for (``add_quickbooks_app_urls``): ``launch``, ``disconnected``
  and ``reconnect`` under ``/oauth/quickbooks/``.
- ``POST /webhooks/quickbooks``: ``intuit-signature`` must be the base64 HMAC-SHA256 of the raw
  body with the verifier token (compared in constant time; 401 otherwise, the handler not
  called); the body must be a classic ``eventNotifications`` object or a CloudEvents array (400
  otherwise); then ``on_webhook(raw_body, parsed)`` and 200. Processing belongs elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from cachetools import TTLCache

from application.auth import Principal
from application.connections import (
    CheckedConnectionView,
    CheckQuickBooksConnection,
    CompleteQuickBooksConnect,
    ConnectDeniedError,
    ConnectStateError,
    DisconnectQuickBooks,
    GetConnections,
    OtherCompanyChosenError,
    StartQuickBooksReconnect,
)
from application.errors import (
    ApplicationError,
    PermissionDeniedError,
    UnauthenticatedError,
    UpstreamUnavailableError,
)
from application.ports.clock import Clock
from application.ports.sync import ChangeNotice
from application.reasons import MetadataKey
from application.sync import RecordChangeNotices
from domain.errors import DomainError
from entrypoints.http.browser_session import SessionUser
from entrypoints.http.public_pages import (
    SupportStatus,
    add_outcome_page,
    connection_status,
    outcome_redirect,
    paragraph,
    pick_language,
    redirect,
    render,
    text,
)
from entrypoints.http.signin import LAUNCH, RECONNECT, PipedriveSignIn

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


def _with_query(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _company_of(request: web.Request, principal: Principal, form: Any = None) -> str:
    company = request.query.get("company_id") or (form.get("company_id") if form else None)
    if not company and principal.companies is not None and len(principal.companies) == 1:
        company = next(iter(principal.companies))
    if not company:
        raise UnauthenticatedError("Open dealbooks from Pipedrive to manage the connection.")
    return str(company)


def outcome_of(exc: Exception) -> str:
    """The outcome page that explains ``exc`` (``public_pages.OUTCOMES["quickbooks"]``)."""
    if isinstance(exc, UnauthenticatedError):
        return "sign_in"
    if isinstance(exc, PermissionDeniedError):
        return "admin_only"
    if isinstance(exc, UpstreamUnavailableError):
        return "unavailable"
    if isinstance(exc, ConnectStateError):
        return "state_invalid"
    if isinstance(exc, OtherCompanyChosenError):
        return "other_company"
    if (
        isinstance(exc, ConnectDeniedError)
        and exc.metadata.get(MetadataKey.VENDOR_ERROR) == "access_denied"
    ):
        return "denied"
    return "refused"


def _error_redirect(exc: Exception) -> web.Response:
    return outcome_redirect("quickbooks", outcome_of(exc))


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
    start_connect: StartQuickBooksReconnect,
    complete_connect: CompleteQuickBooksConnect,
    disconnect: DisconnectQuickBooks,
    authenticate_ui: AuthenticateUi,
    settings_url: str,
    webhook_verifier_token: str,
    on_webhook: OnWebhook,
) -> None:
    async def handle_quickbooks_connect_start(request: web.Request) -> web.StreamResponse:
        # The settings page's Connect button. While a connection is stored (QuickBooks refused
        # it: "needs reconnect"), it is a reconnect, as the Reconnect URL's: Intuit must come
        # back with the same QuickBooks company, another one is refused and its grant revoked.
        # Changing company is Disconnect first (which forgets the connection), then Connect.
        try:
            principal = await authenticate_ui(request)
            company_id = _company_of(request, principal)
            started = await start_connect.execute(principal, company_id, return_to=settings_url)
        except (ApplicationError, DomainError) as exc:
            log.info("quickbooks.connect_refused", reason=getattr(exc, "reason", ""))
            return _error_redirect(exc)
        return redirect(started.authorization_url, status=302)

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
            return _error_redirect(exc)
        except Exception:  # a browser route: log it and explain, never a bare 500
            log.exception("quickbooks.callback_failed")
            return outcome_redirect("quickbooks", "failed")
        return redirect(
            _with_query(done.return_to or settings_url, quickbooks="connected"), status=302
        )

    async def handle_quickbooks_disconnect(request: web.Request) -> web.StreamResponse:
        try:
            principal = await authenticate_ui(request)  # before reading anything sent
            try:
                form = await request.post()
            except (ValueError, LookupError, HttpProcessingError):  # no browser form sends it
                raise web.HTTPBadRequest(text="The form could not be read.") from None
            company_id = _company_of(request, principal, form)
            await disconnect.execute(principal, company_id)
        except (ApplicationError, DomainError) as exc:
            return _error_redirect(exc)
        return redirect(_with_query(settings_url, quickbooks="disconnected"))

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
    add_outcome_page(app, "quickbooks", back=settings_url)


PrincipalFor = Callable[[SessionUser], Awaitable[Principal]]
SettingsLink = Callable[[str], Awaitable[str]]
#: An unauthenticated visit asks QuickBooks about a given realm at most this often (per process):
#: each check is a metered read, and anybody can open the page.
ANONYMOUS_CHECK_INTERVAL: Final = timedelta(seconds=60)
_REALM_ID: Final = re.compile(r"^[0-9]{1,32}$")


def add_quickbooks_app_urls(
    app: web.Application,
    *,
    sign_in: PipedriveSignIn,
    principal_for: PrincipalFor,
    settings_link: SettingsLink,
    reconnect: StartQuickBooksReconnect,
    check: CheckQuickBooksConnection,
    clock: Clock,
) -> None:
    """The Launch, Disconnect and Reconnect URLs of Intuit's app settings.

    - ``GET /oauth/quickbooks/launch`` ("Launch" in QuickBooks' My apps): signed in -> 302 to
      the dealbooks settings in Pipedrive; else -> Pipedrive sign-in, then back here.
    - ``GET /oauth/quickbooks/reconnect``: signed in -> the connect flow again, bound to the same
      QuickBooks company; else -> Pipedrive sign-in, then back here.
    - ``GET /oauth/quickbooks/disconnected``: where Intuit sends the browser after a disconnect
      inside QuickBooks. Says what happened and how to reconnect. The connection's state comes
      from QuickBooks (a read with the stored token, refreshed once if refused); the query
      string never decides it.

    [U] Intuit documents these URLs as pages it opens in the user's browser; whether it adds
    parameters (such as ``realmId``) to the Disconnect URL is not documented. When a ``realmId``
    comes, it only chooses which stored connection to check.
    [U] For a non-SSO app the Launch URL is "the app's sign-in page"; signing in with Pipedrive
    and landing on the settings is our reading of that, not Intuit's words.
    [U] How Intuit itself uses the Reconnect URL is not documented. Its consent page lets the
    person pick any company and no documented authorize parameter pins one, so "same company"
    is enforced when the callback comes back (another company is refused, its grant revoked).
    """
    recent: TTLCache[str, CheckedConnectionView, datetime] = TTLCache(
        10_000, ANONYMOUS_CHECK_INTERVAL, timer=clock.now
    )

    async def handle_quickbooks_launch(request: web.Request) -> web.StreamResponse:
        user = sign_in.user(request)
        if user is None:
            return await sign_in.begin(LAUNCH)
        log.info("quickbooks.launched", company_id=user.company_id, user_id=user.user_id)
        return redirect(await settings_link(user.company_id), status=302)

    async def handle_quickbooks_reconnect(request: web.Request) -> web.StreamResponse:
        user = sign_in.user(request)
        if user is None:
            return await sign_in.begin(RECONNECT)
        try:
            principal = await principal_for(user)
            started = await reconnect.execute(
                principal, user.company_id, return_to=await settings_link(user.company_id)
            )
        except (ApplicationError, DomainError) as exc:
            log.info("quickbooks.reconnect_refused", reason=getattr(exc, "reason", ""))
            return _error_redirect(exc)
        return redirect(started.authorization_url, status=302)

    async def checked_for(request: web.Request) -> tuple[CheckedConnectionView | None, bool]:
        """The checked connection and whether the visitor is signed in to its company."""
        user = sign_in.user(request)
        if user is not None:
            return await check.execute(user.company_id), True
        realm = request.query.get("realmId", "")
        if not _REALM_ID.match(realm):
            return None, False
        found = recent.get(realm)
        if found is None:
            found = await check.execute_for_realm(realm)
            if found is not None:
                recent[realm] = found
        return found, False

    async def handle_quickbooks_disconnected(request: web.Request) -> web.Response:
        language = pick_language(request)
        try:
            checked, signed_in = await checked_for(request)
        except (ApplicationError, DomainError) as exc:
            log.warning("quickbooks.disconnect_check_failed", reason=getattr(exc, "reason", ""))
            checked, signed_in = None, False
        body = paragraph(text(language, "disconnected.lead"))
        if checked is not None:
            body += connection_status(
                language, checked.connection, show_name=signed_in, checked=checked.checked
            )
        body += paragraph(text(language, "disconnected.steps"))
        body += (
            f'<p><a class="button" href="{RECONNECT}">'
            f"{html.escape(text(language, 'status.reconnect'))}</a></p>"
        )
        return render(
            language,
            text(language, "disconnected.title"),
            body,
            path="/oauth/quickbooks/disconnected",
            no_store=True,
        )

    app.router.add_get(LAUNCH, handle_quickbooks_launch)
    app.router.add_get(RECONNECT, handle_quickbooks_reconnect)
    app.router.add_get("/oauth/quickbooks/disconnected", handle_quickbooks_disconnected)


def support_status(sign_in: PipedriveSignIn, get_connections: GetConnections) -> SupportStatus:
    """The support page's connection section: the signed-in company's QuickBooks connection as
    dealbooks has it stored (no QuickBooks call), or "not signed in" with a sign-in link."""

    async def render_status(request: web.Request, language: str) -> str:
        user = sign_in.user(request)
        if user is None:
            return (
                paragraph(text(language, "status.signed_out"))
                + f'<p><a href="{LAUNCH}">{html.escape(text(language, "status.sign_in"))}</a></p>'
            )
        principal = Principal(
            subject=f"pipedrive-user-{user.user_id}", companies=frozenset({user.company_id})
        )
        view = await get_connections.execute(principal, user.company_id)
        return paragraph(
            text(language, "status.company", company=user.company_id)
        ) + connection_status(language, view.quickbooks, show_name=True)

    return render_status
