"""Ports for vendor connections: stored tokens, cross-process locks and rate limits, OAuth."""

from __future__ import annotations

import re
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from application.ports.persistence import CompanyPurge
from domain.connection import Connection, OAuthTokens, Vendor


@dataclass(frozen=True, slots=True)
class UserRemoval:
    """What removing one user's connection did: the connection removed (None: there was none),
    how many connections of that vendor the company still has, and, when none is left and a
    purge was asked for, the company's waiting purge as recorded in the same transaction."""

    removed: Connection | None
    remaining: int
    purge: CompanyPurge | None = None


class TokenStore(Protocol):
    """Connections with their tokens, encrypted at rest; each call is its own short transaction.

    Vendor adapters use it to read the current token and to persist a refreshed one *before* using
    it (refresh tokens rotate: a lost new refresh token would break the connection).

    A company has one connection per vendor and ``user_id``: one for QuickBooks (``user_id``
    empty), one per installing user for Pipedrive. ``load`` answers the one the company's calls
    use: a usable one first, the most recently connected among them.
    """

    async def load(self, company_id: str, vendor: Vendor) -> Connection | None: ...

    async def load_by_external_id(self, vendor: Vendor, external_id: str) -> Connection | None: ...

    async def connected_companies(self, vendor: Vendor) -> list[str]:
        """Company ids with a usable connection to ``vendor`` (for periodic catch-up)."""
        ...

    async def save(self, connection: Connection) -> Connection:
        """Insert or replace the connection of its company, vendor and user; returns it as
        stored."""
        ...

    async def store_tokens(
        self,
        company_id: str,
        vendor: Vendor,
        tokens: OAuthTokens,
        now: datetime,
        *,
        user_id: str = "",
    ) -> Connection: ...

    async def mark_broken(
        self, company_id: str, vendor: Vendor, reason: str, now: datetime, *, user_id: str = ""
    ) -> Connection | None: ...

    async def delete(self, company_id: str, vendor: Vendor) -> None:
        """Forget every connection of the company to ``vendor`` (every user's)."""
        ...

    async def delete_user(
        self,
        company_id: str,
        vendor: Vendor,
        user_id: str,
        *,
        purge_if_last: CompanyPurge | None = None,
    ) -> UserRemoval:
        """Forget one user's connection and count the company's others, atomically: of two
        users removed at once, exactly one learns that none remains. When none remains and
        ``purge_if_last`` is given, it is recorded in the same transaction (unless the company
        already has a purge waiting, which is kept, as ``CompanyPurgeRepository.schedule``
        does): a process that dies right after never leaves a company without users and
        without a purge."""
        ...


class DistributedLock(Protocol):
    """A mutex shared by every process of the deployment (Postgres advisory locks)."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``per_minute`` starts per rolling minute, ``per_second`` per second, and
    ``concurrent`` calls in flight, for one key, across every process."""

    per_minute: int
    per_second: int
    concurrent: int


class RateLimiter(Protocol):
    def slot(self, key: str, limit: RateLimit) -> AbstractAsyncContextManager[None]:
        """Wait (never fail) until a call for ``key`` may start within ``limit``; hold the
        concurrency slot until the block exits."""
        ...


@dataclass(frozen=True, slots=True)
class OAuthState:
    """What a signed-in admin started: bound to company and user, single use, expiring."""

    nonce: str
    company_id: str
    user_id: str
    vendor: Vendor
    expires_at: datetime
    return_to: str = ""
    extra: dict[str, str] = field(default_factory=dict)


_NONCE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def could_be_nonce(text: str) -> bool:
    """Whether ``text`` could be a state's nonce (URL-safe base64, as ``secrets.token_urlsafe``
    makes them). Anything else is no state of ours and is not looked up: a NUL, say, is not
    even text to the database."""
    return _NONCE.fullmatch(text) is not None


class OAuthStateStore(Protocol):
    async def put(self, state: OAuthState) -> None: ...

    async def take(self, nonce: str, now: datetime) -> OAuthState | None:
        """Return the state and forget it (single use); None if unknown, used or expired."""
        ...
