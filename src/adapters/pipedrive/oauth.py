"""Pipedrive marketplace OAuth: install (code exchange), revoke, and the refresh grant that
``adapters.vendor_http.tokens.TokenProvider`` runs (Pipedrive may rotate refresh tokens, §3.4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, cast
from urllib.parse import urlencode

import aiohttp
import structlog

from adapters.pipedrive.payloads import OAuthErrorBody, TokenResponse, UserPayload
from adapters.pipedrive.scopes import missing_scopes
from adapters.vendor_http.client import Answer, fetch
from adapters.vendor_http.tokens import InvalidGrantError
from application.errors import (
    IntegrationNotConnectedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.clock import Clock
from application.ports.crm import CrmInstall, CrmUser
from application.reasons import MetadataKey, Reason
from domain.connection import Connection, OAuthTokens, Vendor

log = structlog.get_logger("dealbooks.pipedrive")

# "refresh token expires after 60 days unused"; each refresh extends it (reference §3.4).
REFRESH_TOKEN_IDLE: Final = timedelta(days=60)
OAUTH_TIMEOUT: Final = aiohttp.ClientTimeout(total=20, connect=5, sock_read=15)


def not_connected(company_id: str, detail: str) -> IntegrationNotConnectedError:
    return IntegrationNotConnectedError(
        "Pipedrive is not connected for this company (or its access was revoked); "
        "reinstall the app from the Pipedrive Marketplace.",
        reason=Reason.PIPEDRIVE_NOT_CONNECTED,
        metadata={MetadataKey.COMPANY: company_id, MetadataKey.DETAIL: detail},
    )


def tokens_from_response(
    body: TokenResponse, now: datetime, *, previous_refresh: str = ""
) -> OAuthTokens:
    access = body.get("access_token")
    refresh = body.get("refresh_token") or previous_refresh
    expires_in = body.get("expires_in")
    if not isinstance(access, str) or not isinstance(refresh, str) or not refresh:
        raise UpstreamUnavailableError(
            "Pipedrive answered the token request without tokens.",
            reason=Reason.PIPEDRIVE_UNAVAILABLE,
        )
    seconds = expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else 0
    return OAuthTokens(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + timedelta(seconds=max(seconds, 0)),
        refresh_expires_at=now + REFRESH_TOKEN_IDLE,
    )


class PipedriveOAuthEndpoint:
    """``{oauth_url}/oauth/token`` and ``/oauth/revoke`` with HTTP Basic client credentials; the
    refresh grant and the usable-connection check the shared TokenProvider asks for."""

    vendor: Final = Vendor.PIPEDRIVE

    def __init__(
        self, session: aiohttp.ClientSession, oauth_url: str, client_id: str, client_secret: str
    ) -> None:
        self._session = session
        self._oauth_url = oauth_url.rstrip("/")
        self._authorization = aiohttp.encode_basic_auth(client_id, client_secret)

    def usable(self, company_id: str, connection: Connection | None) -> Connection:
        if connection is None:
            raise not_connected(company_id, "no connection")
        if not connection.is_usable:
            raise not_connected(company_id, connection.failure_reason or "needs reconnect")
        if not connection.api_domain:
            raise not_connected(company_id, "no api_domain")
        return connection

    async def refresh(self, connection: Connection, now: datetime) -> OAuthTokens:
        form = {"grant_type": "refresh_token", "refresh_token": connection.tokens.refresh_token}
        try:
            body = await self.token(form)
        except InvalidGrantError as exc:
            raise InvalidGrantError("refresh token refused") from exc
        return tokens_from_response(body, now, previous_refresh=connection.tokens.refresh_token)

    async def _post(self, path: str, form: dict[str, str]) -> Answer:
        def unreachable(exc: Exception) -> Exception:
            return UpstreamUnavailableError(
                "Pipedrive's sign-in service could not be reached; try again in a moment.",
                reason=Reason.PIPEDRIVE_UNAVAILABLE,
                metadata={MetadataKey.DETAIL: type(exc).__name__},
                retry_after_seconds=5.0,
            )

        return await fetch(
            self._session,
            "POST",
            f"{self._oauth_url}{path}",
            unreachable,
            data=form,
            headers={"Authorization": self._authorization, "Accept": "application/json"},
            timeout=OAUTH_TIMEOUT,
        )

    async def token(self, form: dict[str, str]) -> TokenResponse:
        """POST /oauth/token; raises InvalidGrantError on ``invalid_grant``."""
        answer = await self._post("/oauth/token", form)
        status, body = answer.status, answer.json()
        if status == 200 and isinstance(body, dict):
            return cast(TokenResponse, body)
        error = cast(OAuthErrorBody, body) if isinstance(body, dict) else OAuthErrorBody()
        description = str(error.get("error_description") or error.get("error") or "")[:300]
        if status == 400 and error.get("error") == "invalid_grant":
            raise InvalidGrantError(description)
        if status >= 500 or status == 429:
            raise UpstreamUnavailableError(
                "Pipedrive's sign-in service is not answering; try again in a moment.",
                reason=Reason.PIPEDRIVE_UNAVAILABLE,
                metadata={MetadataKey.HTTP_STATUS: str(status)},
                retry_after_seconds=5.0,
            )
        raise UpstreamRejectedError(
            "Pipedrive refused the app's credentials.",
            reason=Reason.PIPEDRIVE_REJECTED,
            metadata={
                MetadataKey.HTTP_STATUS: str(status),
                MetadataKey.VENDOR_MESSAGE: description,
            },
        )

    async def revoke(self, token: str, hint: str) -> None:
        answer = await self._post("/oauth/revoke", {"token": token, "token_type_hint": hint})
        if answer.status >= 400:
            raise UpstreamUnavailableError(
                "Pipedrive did not confirm the revocation.",
                reason=Reason.PIPEDRIVE_UNAVAILABLE,
                metadata={MetadataKey.HTTP_STATUS: str(answer.status)},
            )


def user_from_payload(data: UserPayload) -> CrmUser:
    """``GET /v1/users/me`` -> CrmUser (admin: ``is_admin`` or an admin ``global`` access)."""
    for key in ("id", "company_id"):
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise UpstreamUnavailableError(
                f"Pipedrive's users/me answer has no valid {key}.",
                reason=Reason.PIPEDRIVE_UNAVAILABLE,
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
        # One permission set per app the user has access to (sales, global, ...).
        permission_set_ids=frozenset(
            a["permission_set_id"]
            for a in access
            if isinstance(a, dict) and isinstance(a.get("permission_set_id"), str)
        ),
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
        redirect_uri: str,
        oauth_url: str,
    ) -> None:
        self._session = session
        self._clock = clock
        self._endpoint = PipedriveOAuthEndpoint(session, oauth_url, client_id, client_secret)
        self._redirect_uri = redirect_uri
        self._client_id = client_id
        self._oauth_url = oauth_url.rstrip("/")

    def authorization_url(self, state: str) -> str:
        """Pipedrive's consent page; it answers on the app's one callback URL with the state."""
        query = urlencode(
            {"client_id": self._client_id, "redirect_uri": self._redirect_uri, "state": state}
        )
        return f"{self._oauth_url}/oauth/authorize?{query}"

    async def exchange_code(self, code: str) -> CrmInstall:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri,
        }
        try:
            body = await self._endpoint.token(form)
        except InvalidGrantError as exc:
            raise UpstreamRejectedError(
                "The Pipedrive authorization code is invalid or has expired; install again.",
                reason=Reason.PIPEDRIVE_REJECTED,
                metadata={MetadataKey.VENDOR_MESSAGE: str(exc)},
            ) from exc
        tokens = tokens_from_response(body, self._clock.now())
        api_domain = str(body.get("api_domain") or "").rstrip("/")
        if not api_domain.startswith(("https://", "http://")):
            raise UpstreamUnavailableError(
                "Pipedrive's token answer has no api_domain.", reason=Reason.PIPEDRIVE_UNAVAILABLE
            )
        user = await self._users_me(api_domain, tokens.access_token)
        scopes = tuple(s.strip() for s in str(body.get("scope") or "").split(",") if s.strip())
        log.info("pipedrive.code_exchanged", company_id=user.company_id, user_id=user.id)
        missing = missing_scopes(scopes)
        if missing:
            # The app's Developer Hub registration lacks a scope: the calls that need it will be
            # refused (403) until it is ticked there and the company reinstalls.
            log.error("pipedrive.scopes_missing", company_id=user.company_id, missing=missing)
        return CrmInstall(tokens=tokens, api_domain=api_domain, scopes=scopes, user=user)

    async def _users_me(self, api_domain: str, access_token: str) -> CrmUser:
        answer = await fetch(
            self._session,
            "GET",
            f"{api_domain}/api/v1/users/me",
            lambda _: UpstreamUnavailableError(
                "Pipedrive could not be reached; try again in a moment.",
                reason=Reason.PIPEDRIVE_UNAVAILABLE,
            ),
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=OAUTH_TIMEOUT,
        )
        status, body = answer.status, answer.json()
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise UpstreamUnavailableError(
                "Pipedrive did not tell who installed the app.",
                reason=Reason.PIPEDRIVE_UNAVAILABLE,
                metadata={MetadataKey.HTTP_STATUS: str(status)},
            )
        return user_from_payload(cast(UserPayload, body["data"]))

    async def revoke(self, refresh_token: str) -> None:
        """Revoking the refresh token uninstalls the app for that user (reference §3.6)."""
        await self._endpoint.revoke(refresh_token, "refresh_token")
