"""Authenticating the Pipedrive UI extension: the JWT Pipedrive signs for the iframe and for
``GET_SIGNED_TOKEN`` (HS256 with the app's JWT secret; ``companyId``, ``userId``, ``exp``).

Only HS256 is accepted: ``alg: none`` and every other algorithm (including the RS/HS confusion)
are refused. Time comes from the caller (``now``), so expiry is testable and the clock is the
application's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import jwt
from aiohttp import web

from application.errors import UnauthenticatedError

ALGORITHM: Final = "HS256"
LEEWAY: Final = timedelta(seconds=30)  # clock skew between Pipedrive and us
REASON: Final = "INVALID_PIPEDRIVE_TOKEN"


@dataclass(frozen=True, slots=True)
class PipedriveUiClaims:
    company_id: str
    user_id: str


def _refuse(why: str) -> UnauthenticatedError:
    # One message for every failure: the caller learns nothing about which check failed.
    return UnauthenticatedError(
        "The Pipedrive session token is missing, invalid or expired; reload the page.",
        reason=REASON,
        metadata={"detail": why},
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
    leeway: timedelta = LEEWAY,
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
    if exp + leeway.total_seconds() <= now.timestamp():
        raise _refuse("expired")
    iat = claims.get("iat")
    if isinstance(iat, int | float) and iat - leeway.total_seconds() > now.timestamp():
        raise _refuse("issued in the future")
    result = PipedriveUiClaims(
        company_id=_id_claim(claims, "companyId"), user_id=_id_claim(claims, "userId")
    )
    if company_id is not None and result.company_id != company_id:
        raise _refuse("other company")
    return result


def pipedrive_token_of(request: web.Request) -> str:
    """The JWT from ``Authorization: Bearer`` or else the ``token`` query parameter."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    token = request.query.get("token", "").strip()
    if not token:
        raise _refuse("no token")
    return token


def authenticate_pipedrive_request(
    request: web.Request, secret: str, *, now: datetime, company_id: str | None = None
) -> PipedriveUiClaims:
    """Read and verify the request's Pipedrive JWT (raises UnauthenticatedError)."""
    return verify_pipedrive_jwt(pipedrive_token_of(request), secret, now=now, company_id=company_id)


@dataclass(frozen=True, slots=True)
class UiUser:
    """The Pipedrive user behind a UI call: who, whether an admin, and their locale."""

    claims: PipedriveUiClaims
    name: str
    is_admin: bool
    locale: str  # BCP 47, e.g. "fr-FR"


class UiUsers:
    """Looks up the user of a verified token in Pipedrive (admin flag, language), cached.

    The JWT carries only ids; Pipedrive's ``GET /v1/users/{id}`` says whether the user is an
    admin (settings and the QuickBooks connection are admins only) and which language they use.
    Answers are kept ``ttl`` so a page load costs Pipedrive at most one call per user.
    """

    def __init__(
        self,
        lookup: Callable[[str, str], Awaitable[tuple[str, bool, str]]],
        *,
        ttl: timedelta = timedelta(minutes=10),
        max_entries: int = 10_000,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._max = max_entries
        self._cache: dict[tuple[str, str], tuple[datetime, tuple[str, bool, str]]] = {}

    async def user(self, claims: PipedriveUiClaims, *, now: datetime) -> UiUser:
        key = (claims.company_id, claims.user_id)
        cached = self._cache.get(key)
        if cached is None or cached[0] <= now:
            found = await self._lookup(claims.company_id, claims.user_id)
            if len(self._cache) >= self._max:
                self._cache.clear()
            cached = (now + self._ttl, found)
            self._cache[key] = cached
        name, is_admin, locale = cached[1]
        return UiUser(claims=claims, name=name, is_admin=is_admin, locale=locale)
