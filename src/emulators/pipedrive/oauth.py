"""Pipedrive's OAuth server (reference §3): authorize, token, revoke, uninstall callbacks."""

from __future__ import annotations

import base64
import binascii
import html
import secrets
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from .clock import iso_millis
from .state import Emulator, emulator_of
from .store import AccessToken, AuthorizationCode, RefreshToken, User

DAY = 86_400.0


# --------------------------------------------------------------------------- tokens


def issue_tokens(
    emulator: Emulator,
    *,
    company_id: int,
    user_id: int,
    client_id: str,
    scopes: tuple[str, ...],
    base_url: str,
    refresh: RefreshToken | None = None,
    expires_in: int | None = None,
) -> dict[str, Any]:
    """Mint an access token (and a refresh token unless refreshing); the /oauth/token body."""
    config = emulator.config
    now = emulator.clock.time()
    if refresh is None:
        refresh = RefreshToken(
            token=f"{company_id}:{user_id}:{secrets.token_hex(20)}",
            company_id=company_id,
            user_id=user_id,
            scopes=scopes,
            client_id=client_id,
            expires_at=0.0,
        )
        emulator.store.refresh_tokens[refresh.token] = refresh
    # "The same refresh token will be issued ... with the expiry window extended by 60 days".
    refresh.expires_at = now + config.refresh_token_idle_days * DAY
    ttl = config.access_token_ttl_seconds if expires_in is None else expires_in
    # Opaque, `v1u:`-prefixed like the real ones; clients must not parse it (reference §3.3).
    access = "v1u:" + base64.b64encode(secrets.token_bytes(96)).decode()
    emulator.store.access_tokens[access] = AccessToken(
        token=access,
        company_id=company_id,
        user_id=user_id,
        scopes=refresh.scopes,
        expires_at=now + ttl,
        client_id=client_id,
        refresh_token=refresh.token,
    )
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "refresh_token": refresh.token,
        "scope": ",".join(refresh.scopes),
        "api_domain": base_url,
    }


def uninstall_installation(emulator: Emulator, company_id: int, user_id: int | None) -> None:
    """Drop all OAuth data of the app for the company (or one user) and its app webhooks."""
    store = emulator.store
    client_id = emulator.config.client_id

    def matches(c: int, u: int, cid: str) -> bool:
        return c == company_id and cid == client_id and (user_id is None or u == user_id)

    for key, token in list(store.access_tokens.items()):
        if matches(token.company_id, token.user_id, token.client_id):
            del store.access_tokens[key]
    for key, refresh in list(store.refresh_tokens.items()):
        if matches(refresh.company_id, refresh.user_id, refresh.client_id):
            del store.refresh_tokens[key]
    for key, webhook in list(store.webhooks.items()):
        if matches(webhook.company_id, webhook.data["owner_id"], webhook.client_id or ""):
            del store.webhooks[key]


async def send_uninstall(emulator: Emulator, company_id: int, user_id: int) -> dict[str, Any]:
    """User-initiated uninstall: DELETE the app's callback URL (reference §3.7)."""
    config = emulator.config
    uninstall_installation(emulator, company_id, user_id)
    body = {
        "client_id": config.client_id,
        "company_id": company_id,
        "user_id": user_id,
        # The timestamp format is [U]; an ISO 8601 UTC string is the most likely.
        "timestamp": iso_millis(emulator.clock.now()),
    }
    record: dict[str, Any] = {"url": config.callback_url, "body": body, "status": None}
    try:
        async with emulator.webhooks.session().delete(
            config.callback_url,
            json=body,
            headers={
                "Authorization": aiohttp.encode_basic_auth(config.client_id, config.client_secret)
            },
            timeout=aiohttp.ClientTimeout(total=10),
        ) as response:
            await response.read()  # "Response code and body ... are not read or processed."
            record["status"] = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    emulator.uninstall_calls.append(record)
    return record


# --------------------------------------------------------------------------- errors


def oauth_error(status: int, error: str, description: str) -> web.Response:
    # Message texts are from Pipedrive's status-code page [C]; the JSON wrapper is [U]
    # (they match node-oauth2-server, whose body is {"error", "error_description"}).
    response = web.json_response({"error": error, "error_description": description}, status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Service"'
    return response


def _client_credentials(request: web.Request, form: dict[str, str]) -> tuple[str, str, bool] | None:
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        return (client_id, secret, True) if sep else None
    if form.get("client_id") and form.get("client_secret"):
        return form["client_id"], form["client_secret"], False
    return None


def _check_client(
    emulator: Emulator, request: web.Request, form: dict[str, str]
) -> web.Response | None:
    credentials = _client_credentials(request, form)
    if credentials is None:
        return oauth_error(
            400, "invalid_client", "Invalid client: cannot retrieve client credentials"
        )
    client_id, secret, via_header = credentials
    config = emulator.config
    if not (
        secrets.compare_digest(client_id, config.client_id)
        and secrets.compare_digest(secret, config.client_secret)
    ):
        # RFC 6749 §5.2: 401 when the client authenticated with the Authorization header.
        return oauth_error(
            401 if via_header else 400, "invalid_client", "Invalid client: client is invalid"
        )
    return None


# --------------------------------------------------------------------------- endpoints


def _default_user(emulator: Emulator, user_id: str | None) -> User | None:
    users = emulator.store.users
    if user_id is not None:
        return users.get(int(user_id)) if user_id.isdigit() else None
    admins = [u for u in users.values() if u.is_admin]
    return admins[0] if admins else next(iter(users.values()), None)


def _redirect(target: str, params: dict[str, str]) -> web.Response:
    separator = "&" if "?" in target else "?"
    raise web.HTTPFound(target + separator + urlencode(params))


def _error_page(message: str) -> web.Response:
    return web.Response(
        status=400,
        content_type="text/html",
        text=f"<!doctype html><title>Pipedrive</title><h1>Something went wrong</h1>"
        f"<p>{html.escape(message)}</p>",
    )


async def authorize(request: web.Request) -> web.Response:
    """`GET /oauth/authorize?client_id&redirect_uri&state` (+ emulator-only `user_id`)."""
    emulator = emulator_of(request)
    config = emulator.config
    query = request.query
    if query.get("client_id") != config.client_id:
        return _error_page("Invalid client_id")
    if query.get("redirect_uri") != config.callback_url:
        # Never redirect to an unregistered URI; it must equal the app's Callback URL.
        return _error_page("redirect_uri does not match the app's callback URL")
    user = _default_user(emulator, query.get("user_id"))
    if user is None:
        return _error_page("No such user")
    state = query.get("state")
    if config.auto_approve:
        return _approve(emulator, user, state)
    options = "".join(
        f'<option value="{u.id}"{" selected" if u.id == user.id else ""}>'
        f"{html.escape(u.name)} ({html.escape(u.email)}) - "
        f"{html.escape(emulator.store.companies[u.company_id].name)}</option>"
        for u in emulator.store.users.values()
    )
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in config.scopes)
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in (
            ("client_id", config.client_id),
            ("redirect_uri", config.callback_url),
            ("state", state or ""),
        )
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pipedrive - Authorize app</title></head>
<body>
<h1>Allow the app to access your Pipedrive account?</h1>
<p>App <strong>{html.escape(config.client_id)}</strong> asks for:</p>
<ul>{scopes}</ul>
<form method="post" action="/oauth/authorize">
{hidden}
<label>Install as <select name="user_id">{options}</select></label>
<button type="submit" name="decision" value="allow">Allow and install</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form>
</body></html>"""
    return web.Response(text=page, content_type="text/html")


def _approve(emulator: Emulator, user: User, state: str | None) -> web.Response:
    config = emulator.config
    code = f"{user.company_id}.{user.id}.{secrets.token_hex(21)}"
    emulator.store.codes[code] = AuthorizationCode(
        code=code,
        company_id=user.company_id,
        user_id=user.id,
        client_id=config.client_id,
        redirect_uri=config.callback_url,
        expires_at=emulator.clock.time() + config.authorization_code_ttl_seconds,
    )
    params = {"code": code}
    if state:
        params["state"] = state
    return _redirect(config.callback_url, params)


async def authorize_decision(request: web.Request) -> web.Response:
    """The consent form's POST: Allow -> `?code=&state=`, Cancel -> `?error=user_denied&state=`."""
    emulator = emulator_of(request)
    config = emulator.config
    form = await request.post()
    if form.get("client_id") != config.client_id or form.get("redirect_uri") != config.callback_url:
        return _error_page("Invalid authorization request")
    state = str(form.get("state") or "")
    if form.get("decision") != "allow":
        params = {"error": "user_denied"}
        if state:
            params["state"] = state
        return _redirect(config.callback_url, params)
    user = _default_user(emulator, str(form.get("user_id") or "") or None)
    if user is None:
        return _error_page("No such user")
    return _approve(emulator, user, state or None)


async def token(request: web.Request) -> web.Response:
    """`POST /oauth/token`: grants `authorization_code` and `refresh_token`."""
    emulator = emulator_of(request)
    config = emulator.config
    if request.content_type != "application/x-www-form-urlencoded":
        return oauth_error(
            400,
            "invalid_request",
            "Invalid request: content must be application/x-www-form-urlencoded",
        )
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    if not form.get("grant_type"):
        return oauth_error(400, "invalid_request", "Missing parameter: grant_type")
    client_problem = _check_client(emulator, request, form)
    if client_problem is not None:
        return client_problem
    grant = form["grant_type"]
    now = emulator.clock.time()
    base_url = emulator.base_url(request)
    if grant == "authorization_code":
        code_value = form.get("code")
        if not code_value:
            return oauth_error(400, "invalid_request", "Missing parameter: code")
        code = emulator.store.codes.get(code_value)
        if code is None or code.used or code.client_id != config.client_id:
            return oauth_error(400, "invalid_grant", "Invalid grant: authorization_code is invalid")
        if now >= code.expires_at:
            return oauth_error(
                400, "invalid_grant", "Invalid grant: authorization_code has expired"
            )
        if form.get("redirect_uri") is not None and form["redirect_uri"] != code.redirect_uri:
            return oauth_error(400, "invalid_request", "Invalid request: redirect_uri is invalid")
        code.used = True  # single use
        body = issue_tokens(
            emulator,
            company_id=code.company_id,
            user_id=code.user_id,
            client_id=config.client_id,
            scopes=config.scopes,
            base_url=base_url,
        )
    elif grant == "refresh_token":
        value = form.get("refresh_token")
        if not value:
            return oauth_error(400, "invalid_request", "Missing parameter: refresh_token")
        refresh = emulator.store.refresh_tokens.get(value)
        if refresh is None or refresh.client_id != config.client_id:
            return oauth_error(400, "invalid_grant", "Invalid grant: refresh_token is invalid")
        if now >= refresh.expires_at:
            return oauth_error(400, "invalid_grant", "Invalid grant: refresh_token has expired")
        body = issue_tokens(
            emulator,
            company_id=refresh.company_id,
            user_id=refresh.user_id,
            client_id=refresh.client_id,
            scopes=refresh.scopes,
            base_url=base_url,
            refresh=refresh,
        )
    else:
        # `exchange_api_token` exists on the real server but is not emulated.
        return oauth_error(
            400, "unsupported_grant_type", "Unsupported grant type: grant_type is invalid"
        )
    response = web.json_response(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


async def revoke(request: web.Request) -> web.Response:
    """`POST /oauth/revoke` (RFC 7009): 200 even for unknown tokens."""
    emulator = emulator_of(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    client_problem = _check_client(emulator, request, form)
    if client_problem is not None:
        return client_problem
    value = form.get("token", "")
    store = emulator.store
    # `token_type_hint` is only a hint: RFC 7009 §2.1 says to search all token types anyway.
    refresh = store.refresh_tokens.get(value)
    if refresh is not None and refresh.client_id == emulator.config.client_id:
        # Revoking the refresh token removes all OAuth data: the app is uninstalled.
        uninstall_installation(emulator, refresh.company_id, refresh.user_id)
    elif value in store.access_tokens:
        del store.access_tokens[value]
    return web.Response(status=200)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/oauth/authorize", authorize),
        web.post("/oauth/authorize", authorize_decision),
        web.post("/oauth/token", token),
        web.post("/oauth/token/", token),
        web.post("/oauth/revoke", revoke),
    ]
