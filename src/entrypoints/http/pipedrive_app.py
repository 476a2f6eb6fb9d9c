"""Pipedrive routes of the HTTP gateway: the app's callback URL and the webhooks.

Pipedrive uses the same Callback URL for the install (GET, OAuth code) and the uninstall (DELETE)
(reference §3.2, §3.7). The install answers with a redirect to the settings page, or to a page
that explains why when the user declined or the exchange failed (never a page on the URL that
carries the code, never a 500). The uninstall is one user's (``{client_id, company_id, user_id,
timestamp}``), authenticated with HTTP Basic ``client_id:client_secret``; wrong credentials get
401 and nothing is deleted, a body without the company or the user 400.
``POST /webhooks/pipedrive`` carries the Basic credentials of our subscriptions.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog
from aiohttp import web

from application.errors import ApplicationError, UpstreamUnavailableError
from application.installation import (
    CompletePipedriveInstall,
    CompletePipedriveInstallCommand,
    UninstallPipedrive,
    UninstallPipedriveCommand,
)
from entrypoints.http.public_pages import add_outcome_page, outcome_redirect, redirect
from entrypoints.http.signin import PipedriveSignIn

log = structlog.get_logger("dealbooks.http.pipedrive")

CALLBACK_PATH: Final = "/oauth/pipedrive/callback"
OnCrmWebhook = Callable[[bytes], Awaitable[str]]  # raises ValueError for a malformed body
MAX_WEBHOOK_BODY: Final = 256 * 1024


def _basic_auth_matches(header: str, user: str, password: str) -> bool:
    """Both parts are compared in constant time, always: the time taken says nothing about
    which one was wrong."""
    scheme, _, encoded = header.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    given_user, sep, given_password = decoded.partition(":")
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return scheme.lower() == "basic" and bool(sep) and user_ok and password_ok


def _is_id(value: object) -> bool:
    """A Pipedrive id: a positive integer, or its digits (never a bool, never too long)."""
    return type(value) in (int, str) and str(value).isdigit() and len(str(value)) <= 20


def add_pipedrive_routes(
    app: web.Application,
    *,
    complete_install: CompletePipedriveInstall,
    uninstall: UninstallPipedrive,
    client_id: str,
    client_secret: str,
    settings_url: str,
    sign_in: PipedriveSignIn | None = None,
) -> None:
    """Register GET and DELETE ``/oauth/pipedrive/callback`` (and the outcome page).

    With ``sign_in``, a GET answering a sign-in this browser started (QuickBooks' launch and
    reconnect URLs) signs the browser in instead of ending on Pipedrive's settings.

    ``settings_url`` is where a finished install lands, with ``{company_id}``,
    ``{company_domain}``, ``{user_id}`` or ``{client_id}`` filled in, e.g.
    ``https://{company_domain}.pipedrive.com/settings/marketplace/app/{client_id}/app-settings``.
    """
    if not client_id or not client_secret:
        raise ValueError("the Pipedrive client id and secret are required")

    async def handle_pipedrive_install(request: web.Request) -> web.StreamResponse:
        # Every answer is a redirect: this URL carries a code (Intuit's and Pipedrive's
        # reviewers both look for that); the outcome pages explain what went wrong.
        if sign_in is not None and sign_in.started_here(request):
            return await sign_in.finish(request)
        error = request.query.get("error")
        if error:
            log.info("pipedrive.install_declined", error=error[:50])
            if error in ("user_denied", "access_denied"):
                return outcome_redirect("pipedrive", "install_cancelled")
            return outcome_redirect("pipedrive", "declined")
        code = request.query.get("code", "").strip()
        if not code or len(code) > 512:
            return outcome_redirect("pipedrive", "install_incomplete")
        try:
            user = await complete_install.execute(CompletePipedriveInstallCommand(code=code))
        except UpstreamUnavailableError as exc:
            log.warning("pipedrive.install_failed", reason=exc.reason)
            return outcome_redirect("pipedrive", "unavailable")
        except ApplicationError as exc:
            log.warning("pipedrive.install_failed", reason=exc.reason)
            return outcome_redirect("pipedrive", "install_expired")
        except Exception:  # a browser route: log it and explain, never a bare 500
            log.exception("pipedrive.install_crashed")
            return outcome_redirect("pipedrive", "failed")
        return redirect(
            settings_url.format(
                company_id=user.company_id,
                company_domain=user.company_domain,
                user_id=user.id,
                client_id=client_id,
            ),
            status=302,
        )

    async def handle_pipedrive_uninstall(request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if not _basic_auth_matches(header, client_id, client_secret):
            log.warning("pipedrive.uninstall_refused")
            return web.json_response(
                {"error": "unauthorized"},
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="dealbooks", charset="UTF-8"'},
            )
        try:
            body: Any = json.loads(await request.text())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        company, user = body.get("company_id"), body.get("user_id")
        for name, value in (("company_id", company), ("user_id", user)):
            if not _is_id(value):
                return web.json_response({"error": f"{name} is required"}, status=400)
        given_client_id = body.get("client_id")
        if given_client_id is not None and not hmac.compare_digest(
            str(given_client_id).encode(), client_id.encode()
        ):
            return web.json_response({"error": "client_id does not match"}, status=400)
        try:
            await uninstall.execute(
                UninstallPipedriveCommand(company_id=str(company), user_id=str(user))
            )
        except ApplicationError as exc:
            log.error("pipedrive.uninstall_failed", company_id=str(company), reason=exc.reason)
            return web.json_response({"error": "uninstall failed; retry later"}, status=503)
        return web.json_response({"ok": True})

    app.router.add_get(CALLBACK_PATH, handle_pipedrive_install)
    app.router.add_delete(CALLBACK_PATH, handle_pipedrive_uninstall)
    add_outcome_page(app, "pipedrive", back="https://app.pipedrive.com/")


def add_pipedrive_webhook_route(
    app: web.Application, *, user: str, password: str, on_change: OnCrmWebhook
) -> None:
    async def handle_pipedrive_webhook(request: web.Request) -> web.Response:
        if not _basic_auth_matches(request.headers.get("Authorization", ""), user, password):
            raise web.HTTPUnauthorized(
                headers={"WWW-Authenticate": 'Basic realm="dealbooks"'},
                text="These are not the credentials of our Pipedrive webhooks.",
            )
        raw = await request.read()
        if len(raw) > MAX_WEBHOOK_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_WEBHOOK_BODY, actual_size=len(raw))
        try:
            outcome = await on_change(raw)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"Not a Pipedrive webhook: {exc}") from None
        return web.json_response({"status": "ok", "outcome": outcome})

    app.router.add_post("/webhooks/pipedrive", handle_pipedrive_webhook)
