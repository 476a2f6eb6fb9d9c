"""QuickBooks OAuth 2.0: consent URL, code exchange, revoke, and single-flight token refresh.

Refresh-token rotation is the classic way QuickBooks integrations lose their connection
(reference §2.6, §13.1): two processes refresh with the same refresh token, one stores the new
value, the other keeps a superseded one and later gets ``invalid_grant``. So:

- a refresh happens only under a ``DistributedLock`` per realm (shared by every process), and the
  stored token is re-read after acquiring it: another process may have refreshed meanwhile;
- the new pair is stored through the ``TokenStore`` *before* anybody uses it;
- on ``invalid_grant`` the stored token is re-read and the refresh retried once; only then is
  the connection marked broken (``QUICKBOOKS_RECONNECT_REQUIRED``: a person must reconnect).

Token values never reach a log line.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
import structlog

from adapters.recent_connections import RecentConnections
from application.errors import (
    IntegrationNotConnectedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.accounting import AccountingCompany
from application.ports.clock import Clock
from application.ports.connections import DistributedLock, TokenStore
from domain.connection import Connection, OAuthTokens, Vendor

log = structlog.get_logger("dealbooks.quickbooks")

NOT_CONNECTED: Final = "QUICKBOOKS_NOT_CONNECTED"
RECONNECT_REQUIRED: Final = "QUICKBOOKS_RECONNECT_REQUIRED"
REJECTED: Final = "QUICKBOOKS_REJECTED"
UNAVAILABLE: Final = "QUICKBOOKS_UNAVAILABLE"

SCOPE_ACCOUNTING: Final = "com.intuit.quickbooks.accounting"
MINOR_VERSION: Final = "75"
#: Refresh this long before the access token expires (it lives 3600 s).
REFRESH_MARGIN: Final = timedelta(minutes=5)
#: How long a connection read from the store serves calls without reading it again. Another
#: process's disconnect or refresh is seen within this; a 401 meanwhile re-reads at once.
CONNECTION_TTL: Final = timedelta(seconds=30)
TOKEN_TIMEOUT: Final = aiohttp.ClientTimeout(total=30, connect=10)

SANDBOX: Final = "sandbox"
PRODUCTION: Final = "production"


@dataclass(frozen=True, slots=True)
class QuickBooksEndpoints:
    """Where QuickBooks lives. ``for_environment`` gives Intuit's URLs (reference §1.1, §2.1, §9);
    ``base_url`` points everything at one host instead (the emulator serves Intuit's paths)."""

    api_base: str
    authorize_url: str
    token_url: str
    revoke_url: str
    app_base: str  # the accountant UI, for "Open in QuickBooks"
    environment: str

    @classmethod
    def for_environment(cls, environment: str, base_url: str | None = None) -> QuickBooksEndpoints:
        if environment not in (SANDBOX, PRODUCTION):
            raise ValueError(f"QuickBooks environment must be sandbox or production: {environment}")
        app_base = (
            "https://app.sandbox.qbo.intuit.com"
            if environment == SANDBOX
            else "https://app.qbo.intuit.com"
        )
        if base_url:
            base = base_url.rstrip("/")
            return cls(
                api_base=base,
                authorize_url=base + "/connect/oauth2",
                token_url=base + "/oauth2/v1/tokens/bearer",
                revoke_url=base + "/v2/oauth2/tokens/revoke",
                app_base=app_base,
                environment=environment,
            )
        return cls(
            api_base=(
                "https://sandbox-quickbooks.api.intuit.com"
                if environment == SANDBOX
                else "https://quickbooks.api.intuit.com"
            ),
            authorize_url="https://appcenter.intuit.com/connect/oauth2",
            token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
            revoke_url="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
            app_base=app_base,
            environment=environment,
        )


class InvalidGrantError(Exception):
    """The token endpoint refused the grant (used code, superseded or revoked refresh token)."""


def not_connected(reason: str = NOT_CONNECTED) -> IntegrationNotConnectedError:
    if reason == RECONNECT_REQUIRED:
        message = (
            "QuickBooks refused this company's saved sign-in (it was revoked or expired). "
            "An admin needs to reconnect QuickBooks in the dealbooks settings."
        )
    else:
        message = (
            "QuickBooks is not connected for this company. An admin can connect it in the settings."
        )
    return IntegrationNotConnectedError(message, reason=reason)


def unavailable(
    message: str, retry_after: float = 5.0, **metadata: str
) -> UpstreamUnavailableError:
    return UpstreamUnavailableError(
        message, reason=UNAVAILABLE, metadata=metadata, retry_after_seconds=retry_after
    )


def tokens_from_response(body: Mapping[str, Any], now: datetime) -> OAuthTokens:
    """OAuthTokens from the token endpoint's JSON (reference §2.3); the refresh expiry is the
    earlier of the rolling lifetime and the five-year hard cap."""
    try:
        access = str(body["access_token"])
        refresh = str(body["refresh_token"])
        expires_in = int(body["expires_in"])
    except (KeyError, TypeError, ValueError) as exc:
        raise unavailable(
            "QuickBooks answered the sign-in request with something unexpected."
        ) from exc
    lifetimes = [
        int(body[key])
        for key in ("x_refresh_token_expires_in", "x_refresh_token_hard_expires_in")
        if isinstance(body.get(key), int | str) and str(body.get(key)).isdigit()
    ]
    return OAuthTokens(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + timedelta(seconds=expires_in),
        refresh_expires_at=now + timedelta(seconds=min(lifetimes)) if lifetimes else None,
    )


class _TokenEndpoint:
    """POSTs to Intuit's token and revoke endpoints with HTTP Basic client credentials."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoints: QuickBooksEndpoints,
        client_id: str,
        client_secret: str,
    ) -> None:
        self._session = session
        self._endpoints = endpoints
        credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._basic = f"Basic {credentials}"

    async def grant(self, form: dict[str, str], now: datetime) -> OAuthTokens:
        headers = {
            "Authorization": self._basic,
            "Accept": "application/json",
            "x-include-refresh-token-hard-expires-in": "true",
        }
        try:
            async with self._session.post(
                self._endpoints.token_url,
                data=form,
                headers=headers,
                timeout=TOKEN_TIMEOUT,
            ) as response:
                text = await response.text()
                tid = response.headers.get("intuit_tid", "")
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("quickbooks.token_request_failed", error=type(exc).__name__)
            raise unavailable("QuickBooks' sign-in service could not be reached.") from exc
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        log.info(
            "quickbooks.token_requested",
            grant_type=form.get("grant_type"),
            status=status,
            intuit_tid=tid,
            error=error,
        )
        if status == 200 and isinstance(body, dict) and not error:
            return tokens_from_response(body, now)
        if error == "invalid_grant":
            raise InvalidGrantError(str(body.get("error_description") or "invalid_grant"))
        if status >= 500 or status == 429:
            raise unavailable(
                "QuickBooks' sign-in service is temporarily unavailable.", intuit_tid=tid
            )
        raise UpstreamRejectedError(
            "QuickBooks refused the sign-in request (the app's credentials may be wrong).",
            reason=REJECTED,
            metadata={"vendor_code": str(error or status), "intuit_tid": tid},
        )

    async def revoke(self, token: str) -> None:
        try:
            async with self._session.post(
                self._endpoints.revoke_url,
                json={"token": token},
                headers={"Authorization": self._basic, "Accept": "application/json"},
                timeout=TOKEN_TIMEOUT,
            ) as response:
                await response.read()
                status = response.status
                tid = response.headers.get("intuit_tid", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unavailable("QuickBooks' sign-in service could not be reached.") from exc
        log.info("quickbooks.token_revoked", status=status, intuit_tid=tid)
        if status >= 500 or status == 429:
            raise unavailable("QuickBooks' sign-in service is temporarily unavailable.")
        if status >= 400:
            raise UpstreamRejectedError(
                "QuickBooks refused to revoke the connection.",
                reason=REJECTED,
                metadata={"vendor_code": str(status), "intuit_tid": tid},
            )


class QuickBooksTokenProvider:
    """A usable access token per company, refreshed before expiry, single-flight per realm
    across every process of the deployment."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token_store: TokenStore,
        lock: DistributedLock,
        clock: Clock,
        endpoints: QuickBooksEndpoints,
        client_id: str,
        client_secret: str,
        *,
        refresh_margin: timedelta = REFRESH_MARGIN,
        connection_ttl: timedelta = CONNECTION_TTL,
    ) -> None:
        self._store = token_store
        self._lock = lock
        self._clock = clock
        self._endpoint = _TokenEndpoint(session, endpoints, client_id, client_secret)
        self._margin = refresh_margin
        self._recent = RecentConnections(clock, connection_ttl)

    async def _load(self, company_id: str) -> Connection:
        connection = await self._store.load(company_id, Vendor.QUICKBOOKS)
        if connection is None or not connection.is_usable:
            self._recent.forget(company_id)
            raise not_connected(NOT_CONNECTED if connection is None else RECONNECT_REQUIRED)
        self._recent.keep(company_id, connection)
        return connection

    def forget(self, company_id: str) -> None:
        """Read the connection from the store on the next call (it was just changed)."""
        self._recent.forget(company_id)

    async def current(self, company_id: str) -> Connection:
        """The company's connection with an access token good for the next few minutes."""
        connection = self._recent.get(company_id) or await self._load(company_id)
        if connection.tokens.access_expires_within(self._clock.now(), self._margin):
            return await self.refresh(company_id, connection.tokens.access_token)
        return connection

    async def refresh(self, company_id: str, stale_access_token: str) -> Connection:
        """Replace ``stale_access_token`` (expired, or refused with a 401). Callers that queue
        behind the lock get the token the first one stored, without another refresh."""
        async with self._lock.hold(f"quickbooks-refresh:{company_id}"):
            connection = await self._load(company_id)
            now = self._clock.now()
            if connection.tokens.access_token != stale_access_token and not (
                connection.tokens.access_expires_within(now, self._margin)
            ):
                return connection  # somebody else refreshed while we waited
            try:
                tokens = await self._refresh_grant(connection)
            except InvalidGrantError:
                # Another process may have rotated the token outside our view; re-read, retry once.
                again = await self._load(company_id)
                if again.tokens.access_token != connection.tokens.access_token and not (
                    again.tokens.access_expires_within(self._clock.now(), self._margin)
                ):
                    return again
                try:
                    tokens = await self._refresh_grant(again)
                except InvalidGrantError as exc:
                    log.warning(
                        "quickbooks.connection_broken",
                        company_id=company_id,
                        realm_id=again.external_id,
                    )
                    self.forget(company_id)
                    await self._store.mark_broken(
                        company_id,
                        Vendor.QUICKBOOKS,
                        f"QuickBooks refused the refresh token: {exc}",
                        self._clock.now(),
                    )
                    raise not_connected(RECONNECT_REQUIRED) from exc
            # Stored before anybody uses it: a lost rotated refresh token breaks the connection.
            stored = await self._store.store_tokens(
                company_id, Vendor.QUICKBOOKS, tokens, self._clock.now()
            )
            self._recent.keep(company_id, stored)
            log.info(
                "quickbooks.token_refreshed", company_id=company_id, realm_id=stored.external_id
            )
            return stored

    async def _refresh_grant(self, connection: Connection) -> OAuthTokens:
        return await self._endpoint.grant(
            {"grant_type": "refresh_token", "refresh_token": connection.tokens.refresh_token},
            self._clock.now(),
        )


class QuickBooksAuthorizer:
    """The AccountingAuthorizer port: Intuit's consent URL, the code exchange, revoke."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        clock: Clock,
        endpoints: QuickBooksEndpoints,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
    ) -> None:
        self._session = session
        self._clock = clock
        self._endpoints = endpoints
        self._client_id = client_id
        self._redirect_uri = redirect_uri
        self._endpoint = _TokenEndpoint(session, endpoints, client_id, client_secret)

    @property
    def environment(self) -> str:
        return self._endpoints.environment

    def authorization_url(self, state: str) -> str:
        query = urlencode(
            {
                "client_id": self._client_id,
                "response_type": "code",
                "scope": SCOPE_ACCOUNTING,
                "redirect_uri": self._redirect_uri,
                "state": state,
            }
        )
        return f"{self._endpoints.authorize_url}?{query}"

    async def exchange_code(
        self, code: str, realm_id: str
    ) -> tuple[OAuthTokens, AccountingCompany]:
        if not code or not realm_id:
            raise UpstreamRejectedError(
                "QuickBooks did not send back the sign-in details; please try connecting again.",
                reason=REJECTED,
                metadata={"vendor_code": "invalid_request"},
            )
        try:
            tokens = await self._endpoint.grant(
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self._redirect_uri,
                },
                self._clock.now(),
            )
        except InvalidGrantError as exc:
            raise UpstreamRejectedError(
                "This QuickBooks sign-in link was already used or has expired; "
                "please try connecting again.",
                reason=REJECTED,
                metadata={"vendor_code": "invalid_grant"},
            ) from exc
        name = await self._company_name(tokens.access_token, realm_id)
        return tokens, AccountingCompany(
            realm_id=realm_id, name=name, environment=self._endpoints.environment
        )

    async def _company_name(self, access_token: str, realm_id: str) -> str:
        url = f"{self._endpoints.api_base}/v3/company/{realm_id}/companyinfo/{realm_id}"
        try:
            async with self._session.get(
                url,
                params={"minorversion": MINOR_VERSION},
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=TOKEN_TIMEOUT,
            ) as response:
                text = await response.text()
                status = response.status
                tid = response.headers.get("intuit_tid", "")
        except (aiohttp.ClientError, TimeoutError):
            log.warning("quickbooks.company_info_failed", realm_id=realm_id)
            return ""
        log.info("quickbooks.company_info_read", realm_id=realm_id, status=status, intuit_tid=tid)
        try:
            body = json.loads(text)
            return str(body["CompanyInfo"].get("CompanyName") or "")
        except (ValueError, KeyError, TypeError, AttributeError):
            return ""  # the name is cosmetic: the connection works without it

    async def revoke(self, refresh_token: str) -> None:
        await self._endpoint.revoke(refresh_token)
