"""The Pipedrive app's callback URL: install (GET, OAuth code) and uninstall (DELETE).

Pipedrive uses the same Callback URL for both (reference §3.2, §3.7). The install answers with a
redirect to the settings page, or a friendly page when the user declined or the exchange failed
(never a 500). The uninstall is authenticated with HTTP Basic ``client_id:client_secret``,
compared in constant time; wrong credentials get 401 and nothing is deleted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import json
from string import Formatter
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

log = structlog.get_logger("dealbooks.http.pipedrive")

CALLBACK_PATH: Final = "/oauth/pipedrive/callback"
COMPLETE_PIPEDRIVE_INSTALL = web.AppKey("complete_pipedrive_install", CompletePipedriveInstall)
UNINSTALL_PIPEDRIVE = web.AppKey("uninstall_pipedrive", UninstallPipedrive)
_SETTINGS_URL = web.AppKey("pipedrive_settings_url", str)
_CLIENT_ID = web.AppKey("pipedrive_client_id", str)
_CLIENT_SECRET = web.AppKey("pipedrive_client_secret", str)
_PLACEHOLDERS: Final = frozenset({"company_id", "company_domain", "user_id", "client_id"})


def _page(status: int, title: str, message: str) -> web.Response:
    body = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · dealbooks</title></head>
<body>
<main>
<h1>{html.escape(title)}</h1>
<p>{html.escape(message)}</p>
<p><a href="https://app.pipedrive.com/">Back to Pipedrive</a></p>
</main>
</body>
</html>"""
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")


def settings_redirect(template: str, values: dict[str, str]) -> str:
    """``template`` with its ``{company_id}``, ``{company_domain}``, ``{user_id}`` and
    ``{client_id}`` placeholders filled in (other text is kept as is)."""
    names = {name for _, name, _, _ in Formatter().parse(template) if name}
    if not names <= _PLACEHOLDERS:
        return template
    return template.format_map(values)


async def handle_pipedrive_install(request: web.Request) -> web.StreamResponse:
    error = request.query.get("error")
    if error:
        log.info("pipedrive.install_declined", error=error[:50])
        if error in ("user_denied", "access_denied"):
            return _page(
                200,
                "Installation cancelled",
                "You chose not to install dealbooks. Nothing was changed; you can install it "
                "again from the Pipedrive Marketplace at any time.",
            )
        return _page(
            400,
            "Installation not completed",
            "Pipedrive did not complete the installation. Please try again from the Pipedrive "
            "Marketplace.",
        )
    code = request.query.get("code", "").strip()
    if not code or len(code) > 512:
        return _page(
            400,
            "Installation not completed",
            "This link is incomplete. Please start the installation again from the Pipedrive "
            "Marketplace.",
        )
    try:
        user = await request.app[COMPLETE_PIPEDRIVE_INSTALL].execute(
            CompletePipedriveInstallCommand(code=code)
        )
    except UpstreamUnavailableError as exc:
        log.warning("pipedrive.install_failed", reason=exc.reason)
        return _page(
            503,
            "Pipedrive is not answering",
            "We could not finish the installation because Pipedrive did not answer. Please try "
            "again in a minute.",
        )
    except ApplicationError as exc:
        log.warning("pipedrive.install_failed", reason=exc.reason)
        return _page(
            400,
            "Installation not completed",
            "The installation link has expired or was already used. Please install dealbooks "
            "again from the Pipedrive Marketplace.",
        )
    except Exception:  # a browser route: log it and show a page, never a bare 500
        log.exception("pipedrive.install_crashed")
        return _page(
            502,
            "Installation not completed",
            "Something went wrong on our side while finishing the installation. Please try "
            "again; if it keeps failing, contact support.",
        )
    target = settings_redirect(
        request.app[_SETTINGS_URL],
        {
            "company_id": user.company_id,
            "company_domain": user.company_domain,
            "user_id": user.id,
            "client_id": request.app[_CLIENT_ID],
        },
    )
    raise web.HTTPFound(target)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _unauthorized() -> web.Response:
    return web.json_response(
        {"error": "unauthorized"},
        status=401,
        headers={"WWW-Authenticate": 'Basic realm="dealbooks", charset="UTF-8"'},
    )


async def handle_pipedrive_uninstall(request: web.Request) -> web.StreamResponse:
    credentials = _basic_credentials(request.headers.get("Authorization", ""))
    given_id, given_secret = credentials or ("", "")
    # Both comparisons always run: the time taken says nothing about which part was wrong.
    id_ok = _same(given_id, request.app[_CLIENT_ID])
    secret_ok = _same(given_secret, request.app[_CLIENT_SECRET])
    if credentials is None or not (id_ok and secret_ok):
        log.warning("pipedrive.uninstall_refused")
        return _unauthorized()
    try:
        body: Any = json.loads(await request.text())
    except ValueError:
        body = None
    company = body.get("company_id") if isinstance(body, dict) else None
    if (
        isinstance(company, bool)
        or not isinstance(company, int | str)
        or not str(company).isdigit()
    ):
        return web.json_response({"error": "company_id is required"}, status=400)
    client_id = body.get("client_id")
    if client_id is not None and not _same(str(client_id), request.app[_CLIENT_ID]):
        return web.json_response({"error": "client_id does not match"}, status=400)
    user = body.get("user_id")
    user_id = str(user) if isinstance(user, int | str) and not isinstance(user, bool) else None
    try:
        await request.app[UNINSTALL_PIPEDRIVE].execute(
            UninstallPipedriveCommand(company_id=str(company), user_id=user_id)
        )
    except ApplicationError as exc:
        log.error("pipedrive.uninstall_failed", company_id=str(company), reason=exc.reason)
        return web.json_response({"error": "uninstall failed; retry later"}, status=503)
    return web.json_response({"ok": True})


def add_pipedrive_routes(
    app: web.Application,
    *,
    complete_install: CompletePipedriveInstall,
    uninstall: UninstallPipedrive,
    client_id: str,
    client_secret: str,
    settings_url: str,
) -> None:
    """Register GET and DELETE ``/oauth/pipedrive/callback``.

    ``settings_url`` is where a finished install lands, e.g.
    ``https://{company_domain}.pipedrive.com/settings/marketplace/app/{client_id}/app-settings``.
    """
    if not client_id or not client_secret:
        raise ValueError("the Pipedrive client id and secret are required")
    app[COMPLETE_PIPEDRIVE_INSTALL] = complete_install
    app[UNINSTALL_PIPEDRIVE] = uninstall
    app[_SETTINGS_URL] = settings_url
    app[_CLIENT_ID] = client_id
    app[_CLIENT_SECRET] = client_secret
    app.router.add_get(CALLBACK_PATH, handle_pipedrive_install)
    app.router.add_delete(CALLBACK_PATH, handle_pipedrive_uninstall)
