"""DealChanges on Postgres LISTEN/NOTIFY: each invoice write notifies ``DEAL_CHANGES`` with
"company/deal" in its own statement (``invoices._with_events``), delivered at commit to
every listening process. Each gateway process holds one listening connection (not one per
panel) and wakes the subscriptions of that deal.

The connection is checked every ``ping_seconds``; when it is lost, every subscription is told
(its panel falls back to polling and reconnects) and the feed reconnects with backoff."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

import asyncpg
import structlog

from adapters.postgres.engine import libpq_url
from application.ports.deal_changes import DealChangesLostError

log = structlog.get_logger("dealbooks.deal_changes")

DEAL_CHANGES = "dealbooks_deal_changes"


class _Subscription:
    def __init__(self, feed: PostgresDealChanges, key: str) -> None:
        self._feed = feed
        self.key = key
        self.woken = asyncio.Event()
        self.lost = False

    async def changed(self, within: float) -> bool:
        if not self.lost:
            try:
                await asyncio.wait_for(self.woken.wait(), within)
            except TimeoutError:
                return False
        if self.lost:
            raise DealChangesLostError
        self.woken.clear()
        return True

    def close(self) -> None:
        self._feed.forget(self)


class PostgresDealChanges:
    def __init__(
        self, database_url: str, *, ping_seconds: float = 10.0, retry_seconds: float = 1.0
    ) -> None:
        self._url = libpq_url(database_url)
        self._ping = ping_seconds
        self._retry = retry_seconds
        self._subscriptions: defaultdict[str, set[_Subscription]] = defaultdict(set)
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, wait: float = 5.0) -> None:
        """Start listening; waits (at most ``wait`` seconds) for the first connection."""
        self._task = asyncio.create_task(self._run(), name="deal-changes")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), wait)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._lose_all()

    def subscribe(self, company_id: str, deal_id: str) -> _Subscription:
        if not self._listening.is_set():
            raise DealChangesLostError
        subscription = _Subscription(self, f"{company_id}/{deal_id}")
        self._subscriptions[subscription.key].add(subscription)
        return subscription

    def forget(self, subscription: _Subscription) -> None:
        waiting = self._subscriptions.get(subscription.key)
        if waiting is not None:
            waiting.discard(subscription)
            if not waiting:
                del self._subscriptions[subscription.key]

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        for subscription in self._subscriptions.get(str(payload), ()):
            subscription.woken.set()

    def _lose_all(self) -> None:
        self._listening.clear()
        for waiting in self._subscriptions.values():
            for subscription in waiting:
                subscription.lost = True
                subscription.woken.set()
        self._subscriptions.clear()

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._url, timeout=self._ping)
                await conn.add_listener(DEAL_CHANGES, self._notified)
                self._listening.set()
                log.info("deal_changes.listening")
                while True:  # a lost connection shows itself only when used
                    await asyncio.sleep(self._ping)
                    await conn.fetchval("SELECT 1", timeout=self._ping)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("deal_changes.lost", error=type(exc).__name__)
            finally:
                self._lose_all()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 1.0)
            await asyncio.sleep(self._retry)
