"""Pipedrive marketplace OAuth: install (code exchange), revoke, and access-token refresh.

Refreshes are single-flight per company: one coroutine per process (an asyncio lock) and one
process per deployment (the injected ``DistributedLock``). After taking the lock the stored token
is read again, since another process may have refreshed it meanwhile. A new token pair is
persisted through the ``TokenStore`` *before* it is used: Pipedrive may rotate refresh tokens
("always persist whatever refresh_token the response returns", reference §3.4).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, cast

import aiohttp
import structlog

from adapters.pipedrive.payloads import OAuthErrorBody, TokenResponse, UserPayload
from adapters.recent_connections import RecentConnections
from application.errors import (
    IntegrationNotConnectedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.clock import Clock
from application.ports.connections import DistributedLock, TokenStore
from application.ports.crm import CrmInstall, CrmUser
from domain.connection import Connection, OAuthTokens, Vendor

log = structlog.get_logger("dealbooks.pipedrive")

NOT_CONNECTED: Final = "PIPEDRIVE_NOT_CONNECTED"
UNAVAILABLE: Final = "PIPEDRIVE_UNAVAILABLE"
REJECTED: Final = "PIPEDRIVE_REJECTED"
DEFAULT_OAUTH_URL: Final = "https://oauth.pipedrive.com"
REFRESH_MARGIN: Final = timedelta(minutes=5)
#: How long a connection read from the store serves calls without reading it again. Another
#: process's refresh or an uninstall is seen within this; a 401 meanwhile re-reads at once.
CONNECTION_TTL: Final = timedelta(seconds=30)
# "refresh token expires after 60 days unused"; each refresh extends it (reference §3.4).
REFRESH_TOKEN_IDLE: Final = timedelta(days=60)
OAUTH_TIMEOUT: Final = aiohttp.ClientTimeout(total=20, connect=5, sock_read=15)


class InvalidGrantError(Exception):
    """Pipedrive refused the code or refresh token (``invalid_grant``)."""


def not_connected(company_id: str, detail: str) -> IntegrationNotConnectedError:
    return IntegrationNotConnectedError(
        "Pipedrive is not connected for this company (or its access was revoked); "
        "reinstall the app from the Pipedrive Marketplace.",
        reason=NOT_CONNECTED,
        metadata={"company": company_id, "detail": detail},
    )


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def tokens_from_response(
    body: TokenResponse, now: datetime, *, previous_refresh: str = ""
) -> OAuthTokens:
    access = body.get("access_token")
    refresh = body.get("refresh_token") or previous_refresh
    expires_in = body.get("expires_in")
    if not isinstance(access, str) or not isinstance(refresh, str) or not refresh:
        raise UpstreamUnavailableError(
            "Pipedrive answered the token request without tokens.", reason=UNAVAILABLE
        )
    seconds = expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else 0
    return OAuthTokens(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + timedelta(seconds=max(seconds, 0)),
        refresh_expires_at=now + REFRESH_TOKEN_IDLE,
    )


class PipedriveOAuthEndpoint:
    """``{oauth_url}/oauth/token`` and ``/oauth/revoke`` with HTTP Basic client credentials."""

    def __init__(
        self, session: aiohttp.ClientSession, oauth_url: str, client_id: str, client_secret: str
    ) -> None:
        self._session = session
        self._oauth_url = oauth_url.rstrip("/")
        self._authorization = aiohttp.encode_basic_auth(client_id, client_secret)

    async def _post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        try:
            async with self._session.post(
                f"{self._oauth_url}{path}",
                data=form,
                headers={"Authorization": self._authorization, "Accept": "application/json"},
                timeout=OAUTH_TIMEOUT,
            ) as response:
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamUnavailableError(
                "Pipedrive's sign-in service could not be reached; try again in a moment.",
                reason=UNAVAILABLE,
                metadata={"detail": type(exc).__name__},
                retry_after_seconds=5.0,
            ) from exc

    async def token(self, form: dict[str, str]) -> TokenResponse:
        """POST /oauth/token; raises InvalidGrantError on ``invalid_grant``."""
        status, text = await self._post("/oauth/token", form)
        try:
            body = _loads(text)
        except ValueError:
            body = None
        if status == 200 and isinstance(body, dict):
            return cast(TokenResponse, body)
        error = cast(OAuthErrorBody, body) if isinstance(body, dict) else OAuthErrorBody()
        description = str(error.get("error_description") or error.get("error") or "")[:300]
        if status == 400 and error.get("error") == "invalid_grant":
            raise InvalidGrantError(description)
        if status >= 500 or status == 429:
            raise UpstreamUnavailableError(
                "Pipedrive's sign-in service is not answering; try again in a moment.",
                reason=UNAVAILABLE,
                metadata={"http_status": str(status)},
                retry_after_seconds=5.0,
            )
        raise UpstreamRejectedError(
            "Pipedrive refused the app's credentials.",
            reason=REJECTED,
            metadata={"http_status": str(status), "vendor_message": description},
        )

    async def revoke(self, token: str, hint: str) -> None:
        status, _ = await self._post("/oauth/revoke", {"token": token, "token_type_hint": hint})
        if status >= 400:
            raise UpstreamUnavailableError(
                "Pipedrive did not confirm the revocation.",
                reason=UNAVAILABLE,
                metadata={"http_status": str(status)},
            )


def user_from_payload(data: UserPayload) -> CrmUser:
    """``GET /v1/users/me`` -> CrmUser (admin: ``is_admin`` or an admin ``global`` access)."""
    for key in ("id", "company_id"):
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise UpstreamUnavailableError(
                f"Pipedrive's users/me answer has no valid {key}.", reason=UNAVAILABLE
            )
    access = data.get("access") or []
    is_admin = bool(data.get("is_admin")) or any(
        isinstance(a, dict) and a.get("admin") is True and a.get("app") in ("global", "sales")
        for a in access
    )

    def text(key: str, default: str = "") -> str:
        value = data.get(key)
        return value if isinstance(value, str) else default

    return CrmUser(
        id=str(data["id"]),
        name=text("name"),
        email=text("email"),
        company_id=str(data["company_id"]),
        company_name=text("company_name"),
        company_domain=text("company_domain"),
        is_admin=is_admin,
        locale=text("locale", "en_US") or "en_US",
        time_zone=text("timezone_name", "UTC") or "UTC",
    )


class PipedriveAuthorizer:
    """CrmAuthorizer: code exchange on install (then ``users/me``), revoke on uninstall."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        oauth_url: str = DEFAULT_OAUTH_URL,
    ) -> None:
        self._session = session
        self._clock = clock
        self._endpoint = PipedriveOAuthEndpoint(session, oauth_url, client_id, client_secret)
        self._redirect_uri = redirect_uri

    async def exchange_code(self, code: str) -> CrmInstall:
        form = {"grant_type": "authorization_code", "code": code}
        if self._redirect_uri:
            form["redirect_uri"] = self._redirect_uri
        try:
            body = await self._endpoint.token(form)
        except InvalidGrantError as exc:
            raise UpstreamRejectedError(
                "The Pipedrive authorization code is invalid or has expired; install again.",
                reason=REJECTED,
                metadata={"vendor_message": str(exc)},
            ) from exc
        tokens = tokens_from_response(body, self._clock.now())
        api_domain = str(body.get("api_domain") or "").rstrip("/")
        if not api_domain.startswith(("https://", "http://")):
            raise UpstreamUnavailableError(
                "Pipedrive's token answer has no api_domain.", reason=UNAVAILABLE
            )
        user = await self._users_me(api_domain, tokens.access_token)
        scopes = tuple(s for s in str(body.get("scope") or "").split(",") if s)
        log.info("pipedrive.code_exchanged", company_id=user.company_id, user_id=user.id)
        return CrmInstall(tokens=tokens, api_domain=api_domain, scopes=scopes, user=user)

    async def _users_me(self, api_domain: str, access_token: str) -> CrmUser:
        try:
            async with self._session.get(
                f"{api_domain}/api/v1/users/me",
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=OAUTH_TIMEOUT,
            ) as response:
                status, text = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamUnavailableError(
                "Pipedrive could not be reached; try again in a moment.", reason=UNAVAILABLE
            ) from exc
        try:
            body = _loads(text)
        except ValueError:
            body = None
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise UpstreamUnavailableError(
                "Pipedrive did not tell who installed the app.",
                reason=UNAVAILABLE,
                metadata={"http_status": str(status)},
            )
        return user_from_payload(cast(UserPayload, body["data"]))

    async def revoke(self, refresh_token: str) -> None:
        """Revoking the refresh token uninstalls the app for that user (reference §3.6)."""
        await self._endpoint.revoke(refresh_token, "refresh_token")


class PipedriveTokenProvider:
    """Hands out a usable access token for a company, refreshing it when due."""

    def __init__(
        self,
        endpoint: PipedriveOAuthEndpoint,
        token_store: TokenStore,
        lock: DistributedLock,
        clock: Clock,
        *,
        refresh_margin: timedelta = REFRESH_MARGIN,
        connection_ttl: timedelta = CONNECTION_TTL,
    ) -> None:
        self._endpoint = endpoint
        self._store = token_store
        self._lock = lock
        self._clock = clock
        self._margin = refresh_margin
        self._local: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._recent = RecentConnections(clock, connection_ttl)

    async def _load(self, company_id: str) -> Connection:
        self._recent.forget(company_id)
        connection = await self._store.load(company_id, Vendor.PIPEDRIVE)
        if connection is None:
            raise not_connected(company_id, "no connection")
        if not connection.is_usable:
            raise not_connected(company_id, connection.failure_reason or "needs reconnect")
        if not connection.api_domain:
            raise not_connected(company_id, "no api_domain")
        self._recent.keep(company_id, connection)
        return connection

    async def connection(self, company_id: str) -> Connection:
        """The company's connection with an access token valid for at least the margin."""
        connection = self._recent.get(company_id) or await self._load(company_id)
        if connection.tokens.access_expires_within(self._clock.now(), self._margin):
            return await self._refresh(company_id, connection.tokens.access_token)
        return connection

    async def refresh_rejected(self, company_id: str, rejected_access_token: str) -> Connection:
        """Pipedrive answered 401 to ``rejected_access_token``: get another one."""
        return await self._refresh(company_id, rejected_access_token)

    async def _refresh(self, company_id: str, stale_access_token: str) -> Connection:
        async with self._local[company_id], self._lock.hold(f"pipedrive-token:{company_id}"):
            current = await self._load(company_id)  # re-read: someone may have refreshed
            if current.tokens.access_token != stale_access_token and not (
                current.tokens.access_expires_within(self._clock.now(), self._margin)
            ):
                return current
            try:
                return await self._refresh_with(current)
            except InvalidGrantError:
                # Another process (or a reinstall) may have rotated the refresh token.
                again = await self._load(company_id)
                if again.tokens.access_token != current.tokens.access_token and not (
                    again.tokens.access_expires_within(self._clock.now(), self._margin)
                ):
                    return again
                try:
                    return await self._refresh_with(again)
                except InvalidGrantError as exc:
                    self._recent.forget(company_id)
                    await self._store.mark_broken(
                        company_id, Vendor.PIPEDRIVE, "refresh token refused", self._clock.now()
                    )
                    log.warning("pipedrive.refresh_refused", company_id=company_id)
                    raise not_connected(company_id, "refresh token refused") from exc

    async def _refresh_with(self, connection: Connection) -> Connection:
        body = await self._endpoint.token(
            {"grant_type": "refresh_token", "refresh_token": connection.tokens.refresh_token}
        )
        now = self._clock.now()
        tokens = tokens_from_response(body, now, previous_refresh=connection.tokens.refresh_token)
        stored = await self._store.store_tokens(
            connection.company_id, Vendor.PIPEDRIVE, tokens, now
        )
        self._recent.keep(connection.company_id, stored)
        log.info(
            "pipedrive.token_refreshed",
            company_id=connection.company_id,
            access_expires_at=tokens.access_expires_at.isoformat(),
        )
        return stored
