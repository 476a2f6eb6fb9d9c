"""QuickBooks OAuth 2.0: consent URL, code exchange, revoke, and the refresh grant that
``adapters.vendor_http.tokens.TokenProvider`` runs. Token values never reach a log line."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import aiohttp
import structlog

from adapters.quickbooks.client import MINOR_VERSION
from adapters.quickbooks.faults import not_connected, unavailable
from adapters.vendor_http.client import fetch
from adapters.vendor_http.tokens import InvalidGrantError
from application.errors import UpstreamRejectedError, UpstreamUnavailableError
from application.ports.accounting import AccountingCompany
from application.ports.clock import Clock
from application.reasons import MetadataKey, Reason
from domain.connection import Connection, OAuthTokens, Vendor

log = structlog.get_logger("dealbooks.quickbooks")

SCOPE_ACCOUNTING: Final = "com.intuit.quickbooks.accounting"
TOKEN_TIMEOUT: Final = aiohttp.ClientTimeout(total=30, connect=10)

UNREACHABLE: Final = "QuickBooks' sign-in service could not be reached."
_API_BASE: Final = {
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
    "production": "https://quickbooks.api.intuit.com",
}
_APP_BASE: Final = {
    "sandbox": "https://app.sandbox.qbo.intuit.com",
    "production": "https://app.qbo.intuit.com",
}
# Intuit's OpenID discovery documents, one per environment (reference §2.1; the Java SDK's
# host; intuit-oauth Python reads the same documents from developer.intuit.com).
_DISCOVERY_PATH: Final = {
    "sandbox": "/.well-known/openid_sandbox_configuration",
    "production": "/.well-known/openid_configuration",
}
_DISCOVERY_HOST: Final = "https://developer.api.intuit.com"
# What we know the documents say (reference §2.1 and §12 F9): the endpoints used when the
# document cannot be read at start.
_USERINFO: Final = {
    "sandbox": "https://sandbox-accounts.platform.intuit.com/v1/openid_connect/userinfo",
    "production": "https://accounts.platform.intuit.com/v1/openid_connect/userinfo",
}
DISCOVERY_TIMEOUT: Final = aiohttp.ClientTimeout(total=10, connect=5)


@dataclass(frozen=True, slots=True)
class QuickBooksEndpoints:
    """Where QuickBooks lives. ``for_environment`` gives Intuit's URLs (reference §1.1, §2.1, §9);
    ``base_url`` points everything at one host instead (the emulator serves Intuit's paths).
    The OAuth endpoints are then taken from the discovery document at start
    (``discover_endpoints``); these known ones are the fallback."""

    api_base: str
    authorize_url: str
    token_url: str
    revoke_url: str
    app_base: str  # the accountant UI, for "Open in QuickBooks"
    environment: str
    discovery_url: str = ""
    userinfo_url: str = ""
    discovered: bool = False  # the OAuth endpoints came from the discovery document

    @classmethod
    def for_environment(cls, environment: str, base_url: str | None = None) -> QuickBooksEndpoints:
        if environment not in _API_BASE:
            raise ValueError(f"QuickBooks environment must be sandbox or production: {environment}")
        base = base_url.rstrip("/") if base_url else None
        return cls(
            api_base=base or _API_BASE[environment],
            authorize_url=(base or "https://appcenter.intuit.com") + "/connect/oauth2",
            token_url=(base or "https://oauth.platform.intuit.com") + "/oauth2/v1/tokens/bearer",
            revoke_url=(base or "https://developer.api.intuit.com") + "/v2/oauth2/tokens/revoke",
            app_base=_APP_BASE[environment],
            environment=environment,
            discovery_url=(base or _DISCOVERY_HOST) + _DISCOVERY_PATH[environment],
            userinfo_url=(base + "/v1/openid_connect/userinfo") if base else _USERINFO[environment],
        )


class DiscoveryError(Exception):
    """The discovery document could not be read or lacks a usable endpoint."""


def _endpoint(document: Mapping[str, Any], key: str, *, secure: bool) -> str:
    value = document.get(key)
    parts = urlsplit(value) if isinstance(value, str) else None
    schemes = ("https",) if secure else ("https", "http")
    if parts is None or parts.scheme not in schemes or not parts.netloc:
        raise DiscoveryError(f"{key} is missing or not an absolute {'/'.join(schemes)} URL")
    return str(value)


def endpoints_from_discovery(known: QuickBooksEndpoints, document: object) -> QuickBooksEndpoints:
    """``known`` with the OAuth endpoints the document gives. They must be ``https://`` URLs,
    unless the document itself was served over plain HTTP (an emulator on 127.0.0.1)."""
    if not isinstance(document, Mapping):
        raise DiscoveryError("the document is not a JSON object")
    secure = urlsplit(known.discovery_url).scheme == "https"
    userinfo = document.get("userinfo_endpoint")
    return dataclasses.replace(
        known,
        authorize_url=_endpoint(document, "authorization_endpoint", secure=secure),
        token_url=_endpoint(document, "token_endpoint", secure=secure),
        revoke_url=_endpoint(document, "revocation_endpoint", secure=secure),
        # Not used (dealbooks asks for no ``openid`` scope); kept as the document says.
        userinfo_url=(
            _endpoint(document, "userinfo_endpoint", secure=secure)
            if userinfo is not None
            else known.userinfo_url
        ),
        discovered=True,
    )


async def discover_endpoints(
    session: aiohttp.ClientSession, known: QuickBooksEndpoints
) -> QuickBooksEndpoints:
    """Read Intuit's discovery document once (at start, as Intuit asks apps to) and take the
    authorization, token, revocation and userinfo endpoints from it. When it cannot be read
    (Intuit unreachable, an error, a document without them), the known endpoints are used
    and the failure is logged: a start never fails on it."""

    def unreachable(exc: Exception) -> Exception:
        return DiscoveryError(f"unreachable ({type(exc).__name__})")

    try:
        answer = await fetch(
            session,
            "GET",
            known.discovery_url,
            unreachable,
            timeout=DISCOVERY_TIMEOUT,
            headers={"Accept": "application/json"},
        )
        if answer.status != 200:
            raise DiscoveryError(f"HTTP {answer.status}")
        endpoints = endpoints_from_discovery(known, answer.json())
    except DiscoveryError as exc:
        log.warning(
            "quickbooks.discovery_failed",
            discovery_url=known.discovery_url,
            error=str(exc),
            using="known endpoints",
        )
        return known
    log.info(
        "quickbooks.discovery_read",
        discovery_url=known.discovery_url,
        authorize_url=endpoints.authorize_url,
        token_url=endpoints.token_url,
        revoke_url=endpoints.revoke_url,
    )
    return endpoints


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


class QuickBooksOAuth:
    """Intuit's token and revoke endpoints (HTTP Basic client credentials); the refresh grant
    and the usable-connection check the shared TokenProvider asks for."""

    vendor: Final = Vendor.QUICKBOOKS

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

    def usable(self, company_id: str, connection: Connection | None) -> Connection:
        if connection is None:
            raise not_connected(Reason.QUICKBOOKS_NOT_CONNECTED)
        if not connection.is_usable:
            raise not_connected(Reason.QUICKBOOKS_RECONNECT_REQUIRED)
        return connection

    async def refresh(self, connection: Connection, now: datetime) -> OAuthTokens:
        form = {"grant_type": "refresh_token", "refresh_token": connection.tokens.refresh_token}
        try:
            return await self.grant(form, now)
        except InvalidGrantError as exc:
            raise InvalidGrantError(f"QuickBooks refused the refresh token: {exc}") from exc

    async def grant(self, form: dict[str, str], now: datetime) -> OAuthTokens:
        headers = {
            "Authorization": self._basic,
            "Accept": "application/json",
            "x-include-refresh-token-hard-expires-in": "true",
        }

        def unreachable(exc: Exception) -> Exception:
            log.warning("quickbooks.token_request_failed", error=type(exc).__name__)
            return unavailable(UNREACHABLE)

        answer = await fetch(
            self._session,
            "POST",
            self._endpoints.token_url,
            unreachable,
            timeout=TOKEN_TIMEOUT,
            data=form,
            headers=headers,
        )
        tid, status, body = answer.headers.get("intuit_tid", ""), answer.status, answer.json()
        body = {} if body is None else body
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
                "QuickBooks' sign-in service is temporarily unavailable.",
                metadata={MetadataKey.INTUIT_TID: tid},
            )
        raise UpstreamRejectedError(
            "QuickBooks refused the sign-in request (the app's credentials may be wrong).",
            reason=Reason.QUICKBOOKS_REJECTED,
            metadata={MetadataKey.VENDOR_CODE: str(error or status), MetadataKey.INTUIT_TID: tid},
        )

    async def revoke(self, token: str) -> None:
        answer = await fetch(
            self._session,
            "POST",
            self._endpoints.revoke_url,
            lambda _: unavailable(UNREACHABLE),
            timeout=TOKEN_TIMEOUT,
            json={"token": token},
            headers={"Authorization": self._basic, "Accept": "application/json"},
        )
        status, tid = answer.status, answer.headers.get("intuit_tid", "")
        log.info("quickbooks.token_revoked", status=status, intuit_tid=tid)
        if status >= 500 or status == 429:
            raise unavailable("QuickBooks' sign-in service is temporarily unavailable.")
        if status >= 400:
            raise UpstreamRejectedError(
                "QuickBooks refused to revoke the connection.",
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: str(status), MetadataKey.INTUIT_TID: tid},
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
        self._endpoint = QuickBooksOAuth(session, endpoints, client_id, client_secret)

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
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "invalid_request"},
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
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "invalid_grant"},
            ) from exc
        name, zone = await self._company_info(tokens.access_token, realm_id)
        return tokens, AccountingCompany(
            realm_id=realm_id, name=name, environment=self._endpoints.environment, time_zone=zone
        )

    async def _company_info(self, access_token: str, realm_id: str) -> tuple[str, str]:
        """The company's name and time zone (cosmetic, and read again with the invoice
        options when missing): empty when QuickBooks does not say."""
        try:
            answer = await fetch(
                self._session,
                "GET",
                f"{self._endpoints.api_base}/v3/company/{realm_id}/companyinfo/{realm_id}",
                lambda _: unavailable(UNREACHABLE),
                params={"minorversion": MINOR_VERSION},
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=TOKEN_TIMEOUT,
            )
        except UpstreamUnavailableError:
            log.warning("quickbooks.company_info_failed", realm_id=realm_id)
            return "", ""
        tid = answer.headers.get("intuit_tid", "")
        log.info(
            "quickbooks.company_info_read", realm_id=realm_id, status=answer.status, intuit_tid=tid
        )
        try:
            info = answer.json()["CompanyInfo"]
            return str(info.get("CompanyName") or ""), str(info.get("DefaultTimeZone") or "")
        except (KeyError, TypeError, AttributeError):
            return "", ""  # the connection works without them

    async def revoke(self, refresh_token: str) -> None:
        await self._endpoint.revoke(refresh_token)
