"""Authenticating the Pipedrive UI extension: the JWT Pipedrive signs for the iframe and for
``GET_SIGNED_TOKEN`` (HS256 with the app's JWT secret; ``companyId``, ``userId``, ``exp``).

Only HS256 is accepted: ``alg: none`` and every other algorithm (including the RS/HS confusion)
are refused. Time comes from the caller (``now``), so expiry is testable and the clock is the
application's.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import jwt
from aiohttp import web
from cachetools import TTLCache

from application.auth import Principal
from application.errors import NotFoundError, UnauthenticatedError
from application.ports.clock import Clock
from application.ports.connections import TokenStore
from application.ports.crm import CrmGateway, CrmUser
from application.reasons import MetadataKey, Reason
from application.settings import AllowedActions
from domain.connection import Vendor
from domain.permissions import Action
from entrypoints.http.browser_session import SessionUser

ALGORITHM: Final = "HS256"
LEEWAY: Final = timedelta(seconds=30)  # clock skew between Pipedrive and us
REASON: Final = Reason.INVALID_PIPEDRIVE_TOKEN


@dataclass(frozen=True, slots=True)
class PipedriveUiClaims:
    company_id: str
    user_id: str


def _refuse(why: str) -> UnauthenticatedError:
    # One message for every failure: the caller learns nothing about which check failed.
    return UnauthenticatedError(
        "The Pipedrive session token is missing, invalid or expired; reload the page.",
        reason=REASON,
        metadata={MetadataKey.DETAIL: why},
    )


def _id_claim(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise _refuse(f"claim {name} missing")
    text = str(value).strip()
    if not text.isdigit():
        raise _refuse(f"claim {name} malformed")
    return text


def verify_pipedrive_jwt(
    token: str,
    secret: str,
    *,
    now: datetime,
    company_id: str | None = None,
) -> PipedriveUiClaims:
    """The claims of a valid token; UnauthenticatedError otherwise (also when ``company_id`` is
    given and the token is for another company)."""
    if not token or not secret:
        raise _refuse("no token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _refuse("malformed") from None
    if header.get("alg") != ALGORITHM:
        raise _refuse("algorithm")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            # Expiry is checked below against the caller's clock, not the system's.
            options={"require": ["exp"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise _refuse(type(exc).__name__) from None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise _refuse("exp malformed")
    if exp + LEEWAY.total_seconds() <= now.timestamp():
        raise _refuse("expired")
    iat = claims.get("iat")
    if isinstance(iat, int | float) and iat - LEEWAY.total_seconds() > now.timestamp():
        raise _refuse("issued in the future")
    result = PipedriveUiClaims(
        company_id=_id_claim(claims, "companyId"), user_id=_id_claim(claims, "userId")
    )
    if company_id is not None and result.company_id != company_id:
        raise _refuse("other company")
    return result


def authenticate_pipedrive_request(
    request: web.Request, secret: str, *, now: datetime, company_id: str | None = None
) -> PipedriveUiClaims:
    """Verify the JWT from ``Authorization: Bearer`` or else the ``token`` query parameter."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        token = request.query.get("token", "")
    return verify_pipedrive_jwt(token.strip(), secret, now=now, company_id=company_id)


@dataclass(slots=True)
class PipedriveUiSessions:
    """Who a UI call is for: the verified Pipedrive JWT, and the user as Pipedrive describes
    them (``GET /v1/users/{id}``: admin or not, language), kept 10 minutes so that a page load
    costs Pipedrive at most one call per user."""

    crm: CrmGateway
    token_store: TokenStore
    clock: Clock
    allowed_actions: AllowedActions
    _: KW_ONLY
    jwt_secret: str
    settings_link: str
    client_id: str
    public_url: str
    _users: TTLCache[tuple[str, str], CrmUser, datetime] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._users = TTLCache(10_000, timedelta(minutes=10), timer=self.clock.now)

    async def _user(self, request: web.Request) -> tuple[PipedriveUiClaims, CrmUser]:
        now = self.clock.now()
        claims = authenticate_pipedrive_request(request, self.jwt_secret, now=now)
        return claims, await self._described(claims)

    async def _described(self, claims: PipedriveUiClaims) -> CrmUser:
        key = (claims.company_id, claims.user_id)
        found = self._users.get(key)
        if found is None:
            try:
                found = await self.crm.get_user(claims.company_id, claims.user_id)
            except NotFoundError:
                raise UnauthenticatedError(
                    "This Pipedrive user is not known in the company; reload the page.",
                    reason=REASON,
                ) from None
            self._users[key] = found
        return found

    @staticmethod
    def _principal(claims: PipedriveUiClaims, user: CrmUser) -> Principal:
        return Principal(
            subject=f"pipedrive-user-{claims.user_id}",
            companies=frozenset({claims.company_id}),
            is_admin=user.is_admin,
            name=user.name or None,
            user_id=claims.user_id,
            permission_sets=user.permission_set_ids,
        )

    async def principal(self, request: web.Request) -> Principal:
        """Settings and the QuickBooks connection are for admins; every user may invoice."""
        claims, user = await self._user(request)
        return self._principal(claims, user)

    async def principal_for(self, session: SessionUser) -> Principal:
        """The same principal for a browser signed in through Pipedrive's OAuth (the pages
        outside Pipedrive): admin or not as Pipedrive says now."""
        claims = PipedriveUiClaims(company_id=session.company_id, user_id=session.user_id)
        return self._principal(claims, await self._described(claims))

    async def settings_link_for(self, company_id: str) -> str:
        """The app's settings page inside the company's Pipedrive."""
        pipedrive = await self.token_store.load(company_id, Vendor.PIPEDRIVE)
        return self.settings_link.format_map(
            {
                "api_domain": (pipedrive.api_domain if pipedrive else "").rstrip("/"),
                "client_id": self.client_id,
                "public_url": self.public_url,
            }
        )

    async def me(self, request: web.Request) -> dict[str, Any]:
        """``GET /api/v1/me``: the user, and where the app's settings live in Pipedrive."""
        claims, user = await self._user(request)
        link = await self.settings_link_for(claims.company_id)
        allowed = await self.allowed_actions.execute(
            self._principal(claims, user), claims.company_id
        )
        return {
            "companyId": claims.company_id,
            "userId": claims.user_id,
            "name": user.name,
            "locale": user.locale.replace("_", "-"),  # BCP 47, e.g. "fr-FR"
            "isAdmin": user.is_admin,
            "settingsUrl": link,
            # What the company's settings let this user do to invoices (the server enforces
            # it; the pages only hide what would be refused).
            "may": {action.value: action in allowed for action in Action},
        }
