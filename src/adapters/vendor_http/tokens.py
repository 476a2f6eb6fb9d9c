"""A usable access token per company, refreshed single-flight across every process.

Refresh-token rotation is the classic way integrations lose their connection (QuickBooks reference
§2.6, §13.1; Pipedrive "always persist whatever refresh_token the response returns", §3.4): two
processes refresh with the same refresh token, one stores the new value, the other keeps a
superseded one and later gets ``invalid_grant``. So:

- a refresh happens only under the company's ``DistributedLock`` (shared by every process; an
  asyncio lock first, so this process's callers queue without holding a database connection),
  and the stored token is re-read once the lock is held: another process may have refreshed;
- the new pair is stored through the ``TokenStore`` *before* anybody uses it;
- on ``invalid_grant`` the stored token is re-read and the refresh retried once; only then is the
  connection marked broken (a person must reconnect) and the vendor's "not connected" raised.

Connections read from the store serve calls for ``CONNECTION_TTL`` without reading it again.
Token values never reach a log line.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Final, Protocol

import structlog

from adapters.vendor_http.cache import CompanyCache
from application.errors import ApplicationError
from application.ports.clock import Clock
from application.ports.connections import DistributedLock, TokenStore
from domain.connection import Connection, OAuthTokens, Vendor

log = structlog.get_logger("dealbooks.vendor_http")

#: Refresh this long before the access token expires.
REFRESH_MARGIN: Final = timedelta(minutes=5)
#: Another process's refresh or disconnect is seen within this; a 401 meanwhile re-reads at once.
CONNECTION_TTL: Final = timedelta(seconds=30)


class InvalidGrantError(Exception):
    """The token endpoint refused the code or refresh token (used, superseded or revoked)."""


class OAuthGrant(Protocol):
    """One vendor's OAuth, as the token provider uses it."""

    @property
    def vendor(self) -> Vendor: ...

    async def refresh(self, connection: Connection, now: datetime) -> OAuthTokens:
        """New tokens for the connection's refresh token. InvalidGrantError when refused; its
        message is kept as the connection's failure reason."""
        ...

    def usable(self, company_id: str, connection: Connection | None) -> Connection:
        """The stored connection if calls can use it, else raise the vendor's "not connected"."""
        ...


class TokenProvider:
    def __init__(
        self,
        oauth: OAuthGrant,
        token_store: TokenStore,
        lock: DistributedLock,
        clock: Clock,
    ) -> None:
        self._oauth = oauth
        self._vendor = oauth.vendor
        self._store = token_store
        self._lock = lock
        self._clock = clock
        self._recent: CompanyCache[Connection] = CompanyCache(clock, CONNECTION_TTL)
        self._refreshing: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def current(self, company_id: str) -> Connection:
        """The company's connection with an access token good for at least the margin."""
        connection = await self._recent.get(company_id, lambda: self._load(company_id))
        if connection.tokens.access_expires_within(self._clock.now(), REFRESH_MARGIN):
            return await self.refresh(company_id, connection.tokens.access_token)
        return connection

    async def refresh(self, company_id: str, stale_access_token: str) -> Connection:
        """Replace ``stale_access_token`` (expiring, or refused with a 401). Callers that queue
        behind the lock get the token the first one stored, without another refresh."""
        key = f"{self._vendor.value}-token:{company_id}"
        async with self._refreshing[company_id], self._lock.hold(key):
            # A refused refresh is retried once on a re-read: another process may have rotated
            # the token outside our view.
            for last_try in (False, True):
                connection = await self._load(company_id)
                if self._replaced(connection, stale_access_token):
                    return connection  # somebody else refreshed while we waited
                try:
                    tokens = await self._oauth.refresh(connection, self._clock.now())
                    break
                except InvalidGrantError as exc:
                    stale_access_token = connection.tokens.access_token
                    if last_try:
                        log.warning(
                            "vendor.refresh_refused",
                            vendor=self._vendor.value,
                            company_id=company_id,
                            external_id=connection.external_id,
                        )
                        # That user's connection only: another user's (Pipedrive installs are
                        # per user) may still serve the company.
                        await self._store.mark_broken(
                            company_id,
                            self._vendor,
                            str(exc),
                            self._clock.now(),
                            user_id=connection.user_id,
                        )
                        # Raises the vendor's "not connected" unless another user's serves.
                        return await self._load(company_id)
            # Stored before anybody uses it: a lost rotated refresh token breaks the connection.
            try:
                stored = await self._store.store_tokens(
                    company_id, self._vendor, tokens, self._clock.now(), user_id=connection.user_id
                )
            except LookupError:  # that user uninstalled meanwhile: their tokens are not kept
                return await self._load(company_id)
            self._recent.put(company_id, stored)
            log.info(
                "vendor.token_refreshed",
                vendor=self._vendor.value,
                company_id=company_id,
                external_id=stored.external_id,
                access_expires_at=tokens.access_expires_at.isoformat(),
            )
            return stored

    def _replaced(self, connection: Connection, stale_access_token: str) -> bool:
        return connection.tokens.access_token != stale_access_token and not (
            connection.tokens.access_expires_within(self._clock.now(), REFRESH_MARGIN)
        )

    async def _load(self, company_id: str) -> Connection:
        stored = await self._store.load(company_id, self._vendor)
        try:
            connection = self._oauth.usable(company_id, stored)
        except ApplicationError:
            self._recent.forget(company_id)
            raise
        self._recent.put(company_id, connection)
        return connection
