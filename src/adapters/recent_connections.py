"""A short-lived, per-process memory of each company's vendor connection.

Both vendor adapters read the company's connection before every API call; keeping it for a few
seconds saves a database read (and unsealing the tokens) per call. Refreshes never use it: they
re-read the store under their lock, and a 401 from the vendor makes the adapter forget.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from application.ports.clock import Clock
from domain.connection import Connection


class RecentConnections:
    def __init__(self, clock: Clock, ttl: timedelta) -> None:
        self._clock = clock
        self._ttl = ttl
        self._kept: dict[str, tuple[Connection, datetime]] = {}

    def get(self, company_id: str) -> Connection | None:
        """The connection read less than ``ttl`` ago, if any."""
        kept = self._kept.get(company_id)
        if kept is None or self._clock.now() - kept[1] >= self._ttl:
            return None
        return kept[0]

    def keep(self, company_id: str, connection: Connection) -> None:
        self._kept[company_id] = (connection, self._clock.now())

    def forget(self, company_id: str) -> None:
        self._kept.pop(company_id, None)
