"""Intuit OAuth 2.0: authorize page, token endpoint, revoke, discovery, userinfo, JWKS (§2)."""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import urlencode

from aiohttp import web

from .clock import Clock
from .config import EmulatorConfig
from .store import Store

KNOWN_SCOPES = {
    "com.intuit.quickbooks.accounting",
    "com.intuit.quickbooks.payment",
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "app-foundations.custom-field-definitions",
    "app-foundations.custom-field-definitions.read",
}
ISSUER_PATH = "/op/v1"


@dataclass
class Grant:
    grant_id: str
    realm_id: str
    scopes: list[str]
    created_at: datetime
    hard_expires_at: datetime
    user_sub: str = field(default_factory=lambda: str(uuid.uuid4()))
    revoked: bool = False
    #: The app (OAuth client) the company granted: what Intuit meters calls against.
    client_id: str = ""


@dataclass
class AuthCode:
    value: str
    redirect_uri: str
    realm_id: str
    scopes: list[str]
    expires_at: datetime
    used: bool = False


@dataclass
class AccessToken:
    value: str
    grant: Grant
    expires_at: datetime


@dataclass
class RefreshToken:
    value: str
    grant: Grant
    expires_at: datetime
    superseded_at: datetime | None = None


class TokenError(Exception):
    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> web.Response:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return web.json_response(body, status=self.status)


class AccessDenied(Exception):
    """A Bearer token is unknown, expired or revoked; ``detail`` goes in the 401 body."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class TokenStore:
    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.codes: dict[str, AuthCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self._signing_key: Any = None
        self.kid = secrets.token_hex(8)

    def clear(self) -> None:
        self.codes.clear()
        self.access.clear()
        self.refresh.clear()

    # ---------------------------------------------------------------- issuing

    def issue_code(self, redirect_uri: str, realm_id: str, scopes: list[str]) -> str:
        value = "AB11" + _random(string.ascii_letters + string.digits, 46)
        self.codes[value] = AuthCode(
            value,
            redirect_uri,
            realm_id,
            scopes,
            self.clock.now() + timedelta(seconds=self.config.auth_code_ttl),
        )
        return value

    def _pair(self, grant: Grant, *, include_hard: bool, base_url: str) -> dict[str, Any]:
        now = self.clock.now()
        access_value = (
            "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.."
            + secrets.token_urlsafe(24)
            + "."
            + secrets.token_urlsafe(96)
            + "."
            + secrets.token_urlsafe(16)
        )
        self.access[access_value] = AccessToken(
            access_value, grant, now + timedelta(seconds=self.config.access_token_ttl)
        )
        hard_left = max(int((grant.hard_expires_at - now).total_seconds()), 0)
        rt_ttl = min(self.config.refresh_token_ttl, hard_left)
        refresh_value = (
            f"RT1-{secrets.randbelow(90) + 10}-H0-{int(now.timestamp()) + rt_ttl}"
            + _random(string.ascii_lowercase + string.digits, 20)
        )
        self.refresh[refresh_value] = RefreshToken(
            refresh_value, grant, now + timedelta(seconds=rt_ttl)
        )
        body: dict[str, Any] = {
            "access_token": access_value,
            "refresh_token": refresh_value,
            "token_type": "bearer",
            "expires_in": self.config.access_token_ttl,
            "x_refresh_token_expires_in": rt_ttl,
        }
        if include_hard:
            body["x_refresh_token_hard_expires_in"] = hard_left
        if "openid" in grant.scopes:
            body["id_token"] = self.id_token(grant, base_url)
        return body

    def new_grant(self, realm_id: str, scopes: list[str]) -> Grant:
        now = self.clock.now()
        return Grant(
            grant_id=secrets.token_hex(8),
            realm_id=realm_id,
            scopes=scopes,
            created_at=now,
            hard_expires_at=now + timedelta(seconds=self.config.refresh_token_hard_ttl),
            client_id=self.config.client_id,
        )

    def mint(self, realm_id: str, scopes: list[str], base_url: str) -> dict[str, Any]:
        """Admin shortcut: a connected grant without the browser dance."""
        return self._pair(self.new_grant(realm_id, scopes), include_hard=True, base_url=base_url)

    def exchange_code(
        self, code: str, redirect_uri: str | None, *, include_hard: bool, base_url: str
    ) -> dict[str, Any]:
        record = self.codes.get(code)
        if record is None or record.used or record.expires_at <= self.clock.now():
            raise TokenError(400, "invalid_grant")
        if redirect_uri != record.redirect_uri:
            raise TokenError(400, "invalid_grant")
        record.used = True
        grant = self.new_grant(record.realm_id, record.scopes)
        return self._pair(grant, include_hard=include_hard, base_url=base_url)

    def rotate(self, value: str, *, include_hard: bool, base_url: str) -> dict[str, Any]:
        record = self.refresh.get(value)
        now = self.clock.now()
        if record is None or record.grant.revoked or record.expires_at <= now:
            raise TokenError(400, "invalid_grant", "Incorrect or invalid refresh token")
        if record.superseded_at is not None:
            grace = timedelta(seconds=self.config.refresh_grace_seconds)
            if now >= record.superseded_at + grace:
                raise TokenError(400, "invalid_grant", "Incorrect or invalid refresh token")
        else:
            record.superseded_at = now
        return self._pair(record.grant, include_hard=include_hard, base_url=base_url)

    def revoke(self, value: str) -> bool:
        """Revoking either token disconnects the app from the company (the whole grant)."""
        record: AccessToken | RefreshToken | None = self.refresh.get(value) or self.access.get(
            value
        )
        if record is None:
            return False
        record.grant.revoked = True
        return True

    def expire_access(self, realm_id: str | None = None) -> int:
        now = self.clock.now() - timedelta(seconds=1)
        count = 0
        for token in self.access.values():
            if (realm_id is None or token.grant.realm_id == realm_id) and token.expires_at > now:
                token.expires_at = now
                count += 1
        return count

    # ---------------------------------------------------------------- checking

    def check(self, value: str | None) -> AccessToken:
        if not value:
            raise AccessDenied("Token invalid")
        token = self.access.get(value)
        if token is None or token.grant.revoked:
            raise AccessDenied(f"Token invalid: {value[:50]}")
        if token.expires_at <= self.clock.now():
            raise AccessDenied(f"Token expired: {value[:50]}")
        return token

    # ---------------------------------------------------------------- OpenID

    def _key(self) -> Any:
        if self._signing_key is None:
            from cryptography.hazmat.primitives.asymmetric import rsa

            self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._signing_key

    def id_token(self, grant: Grant, base_url: str) -> str:
        import jwt

        now = self.clock.now()
        claims = {
            "sub": grant.user_sub,
            "aud": [self.config.client_id],
            "realmid": grant.realm_id,
            "auth_time": int(grant.created_at.timestamp()),
            "iss": base_url + ISSUER_PATH,
            "exp": int(now.timestamp()) + 3600,
            "iat": int(now.timestamp()),
        }
        return jwt.encode(claims, self._key(), algorithm="RS256", headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        jwk = json.loads(RSAAlgorithm.to_jwk(self._key().public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}


# -------------------------------------------------------------------- routes


def base_url(config: EmulatorConfig, request: web.Request) -> str:
    if config.public_base_url:
        return config.public_base_url.rstrip("/")
    return f"{request.scheme}://{request.host}"


def _client_ok(config: EmulatorConfig, request: web.Request, form: Any) -> bool:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
    else:  # client_secret_post, advertised by the discovery document
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    return secrets.compare_digest(client_id, config.client_id) and secrets.compare_digest(
        secret, config.client_secret
    )


def _error_page(message: str) -> web.Response:
    page = (
        "<!doctype html><html><head><title>Intuit - Error</title></head><body>"
        f"<h1>Something went wrong</h1><p>{html.escape(message)}</p></body></html>"
    )
    return web.Response(text=page, status=400, content_type="text/html")


def _redirect(uri: str, params: dict[str, str]) -> NoReturn:
    sep = "&" if "?" in uri else "?"
    raise web.HTTPFound(uri + sep + urlencode(params))


class OAuthRoutes:
    def __init__(self, config: EmulatorConfig, tokens: TokenStore, store: Store) -> None:
        self.config = config
        self.tokens = tokens
        self.store = store

    def register(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/connect/oauth2", self.authorize)
        r.add_post("/connect/oauth2/decision", self.decision)
        r.add_post("/oauth2/v1/tokens/bearer", self.token)
        r.add_post("/v2/oauth2/tokens/revoke", self.revoke)
        for name in ("openid_configuration", "openid_sandbox_configuration"):
            r.add_get(f"/.well-known/{name}", self.discovery)
            r.add_get(f"/.well-known/{name}/", self.discovery)
            r.add_get(f"/.well-known/{name.replace('_', '-')}", self.discovery)
        r.add_get("/v1/openid_connect/userinfo", self.userinfo)
        r.add_get(ISSUER_PATH + "/jwks", self.jwks)

    def default_realm(self) -> str | None:
        if self.config.default_realm_id and self.config.default_realm_id in self.store.companies:
            return self.config.default_realm_id
        if self.config.us_realm_id in self.store.companies:
            return self.config.us_realm_id
        return next(iter(self.store.companies), None)

    def _validate(self, params: Any) -> tuple[str, list[str], str]:
        """(redirect_uri, scopes, state); raises an error page or an error redirect."""
        if params.get("client_id") != self.config.client_id:
            raise _StopWith(_error_page("The client_id is invalid (invalid_client)."))
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in self.config.redirect_uris:
            raise _StopWith(
                _error_page(
                    "The redirect_uri is not registered for this app (redirect_uri_mismatch)."
                )
            )
        state = params.get("state", "")
        if params.get("response_type") != "code":
            _redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
        scopes = params.get("scope", "").split()
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            _redirect(redirect_uri, {"error": "invalid_scope", "state": state})
        if not state:
            # Intuit lists state as required [C]; the exact error is [U].
            _redirect(redirect_uri, {"error": "invalid_request", "state": ""})
        return redirect_uri, scopes, state

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        try:
            redirect_uri, scopes, state = self._validate(request.query)
        except _StopWith as stop:
            return stop.response
        realm = request.query.get("realmId") or self.default_realm()
        if self.config.auto_approve:
            if realm is None or realm not in self.store.companies:
                _redirect(redirect_uri, {"error": "access_denied", "state": state})
            assert realm is not None
            code = self.tokens.issue_code(redirect_uri, realm, scopes)
            _redirect(redirect_uri, {"code": code, "state": state, "realmId": realm})
        options = "".join(
            f'<option value="{html.escape(c.realm_id)}"'
            f"{' selected' if c.realm_id == realm else ''}>"
            f"{html.escape(c.name)} ({html.escape(c.realm_id)})</option>"
            for c in self.store.companies.values()
        )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in request.query.items()
            if k in ("client_id", "redirect_uri", "scope", "state", "response_type")
        )
        page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Intuit - Connect to QuickBooks (emulator)</title></head>
<body>
<h1>Connect dealbooks to QuickBooks</h1>
<p>The app is asking for: {html.escape(" ".join(scopes))}</p>
<form method="post" action="/connect/oauth2/decision">{hidden}
<label>Company <select name="realmId">{options}</select></label>
<button type="submit" name="decision" value="approve" id="approve">Connect</button>
<button type="submit" name="decision" value="deny" id="deny">Cancel</button>
</form></body></html>"""
        return web.Response(text=page, content_type="text/html")

    async def decision(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        try:
            redirect_uri, scopes, state = self._validate(form)
        except _StopWith as stop:
            return stop.response
        if form.get("decision") != "approve":
            _redirect(redirect_uri, {"error": "access_denied", "state": state})
        realm = str(form.get("realmId") or "")
        if realm not in self.store.companies:
            return _error_page("Unknown company.")
        code = self.tokens.issue_code(redirect_uri, realm, scopes)
        _redirect(redirect_uri, {"code": code, "state": state, "realmId": realm})

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            if not _client_ok(self.config, request, form):
                raise TokenError(401, "invalid_client")
            include_hard = (
                request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true"
            )
            base = base_url(self.config, request)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                code = str(form.get("code") or "")
                if not code:
                    raise TokenError(400, "invalid_request")
                redirect_uri = form.get("redirect_uri")
                body = self.tokens.exchange_code(
                    code,
                    str(redirect_uri) if redirect_uri is not None else None,
                    include_hard=include_hard,
                    base_url=base,
                )
            elif grant_type == "refresh_token":
                value = str(form.get("refresh_token") or "")
                if not value:
                    raise TokenError(400, "invalid_request")
                body = self.tokens.rotate(value, include_hard=include_hard, base_url=base)
            else:
                raise TokenError(400, "unsupported_grant_type")
        except TokenError as err:
            return err.response()
        return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def revoke(self, request: web.Request) -> web.Response:
        raw = await request.read()
        token = None
        if request.content_type == "application/json":
            try:
                payload = json.loads(raw or b"{}")
                token = payload.get("token") if isinstance(payload, dict) else None
            except ValueError:
                token = None
            form: Any = {}
        else:
            form = await request.post()
            token = form.get("token")
        if not _client_ok(self.config, request, form):
            return TokenError(401, "invalid_client").response()
        if not token:
            return TokenError(400, "invalid_request").response()
        # [U] RFC 7009: unknown tokens also get 200.
        self.tokens.revoke(str(token))
        return web.Response(status=200)

    async def discovery(self, request: web.Request) -> web.Response:
        base = base_url(self.config, request)
        doc = {
            "issuer": base + ISSUER_PATH,
            "authorization_endpoint": base + "/connect/oauth2",
            "token_endpoint": base + "/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": base + "/v1/openid_connect/userinfo",
            "revocation_endpoint": base + "/v2/oauth2/tokens/revoke",
            "jwks_uri": base + ISSUER_PATH + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }
        return web.json_response(doc)

    async def userinfo(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        value = header[7:].strip() if header.lower().startswith("bearer ") else None
        try:
            token = self.tokens.check(value)
        except AccessDenied:
            return web.json_response(
                {"error": "invalid_token"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if "openid" not in token.grant.scopes:
            return web.json_response({"error": "insufficient_scope"}, status=403)
        body: dict[str, Any] = {"sub": token.grant.user_sub}
        if "email" in token.grant.scopes:
            body.update({"email": "demo.user@dealbooks-demo.example", "emailVerified": True})
        if "profile" in token.grant.scopes:
            body.update({"givenName": "Demo", "familyName": "User"})
        if "phone" in token.grant.scopes:
            body.update({"phoneNumber": "+1 555-0100", "phoneNumberVerified": False})
        if "address" in token.grant.scopes:
            body["address"] = {
                "streetAddress": "123 Sierra Way",
                "locality": "San Pablo",
                "region": "CA",
                "postalCode": "87999",
                "country": "US",
            }
        return web.json_response(body)

    async def jwks(self, request: web.Request) -> web.Response:
        return web.json_response(self.tokens.jwks())


class _StopWith(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__("stop")
        self.response = response
