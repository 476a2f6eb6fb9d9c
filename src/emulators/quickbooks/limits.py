"""Per-realm throttling: requests per minute and per second, concurrency, batch calls (§1.7)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from .config import Limits

#: Injected latency for an Accounting API request, slept while the request counts as in flight.
LATENCY_MS = web.RequestKey("latency_ms", int)


@dataclass
class _Window:
    minute: deque[float] = field(default_factory=deque)
    second: deque[float] = field(default_factory=deque)
    batch_minute: deque[float] = field(default_factory=deque)
    in_flight: int = 0


def _trim(window: deque[float], now: float, span: float) -> None:
    while window and window[0] <= now - span:
        window.popleft()


class Throttle:
    """Counts in real (monotonic) time: a frozen emulator clock must not throttle forever."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.realms: dict[str, _Window] = {}

    def reset(self) -> None:
        self.realms.clear()

    def enter(self, realm_id: str, *, batch: bool = False) -> bool:
        """Admit one request (True) or refuse it (False: answer 429). Call ``leave`` after."""
        window = self.realms.setdefault(realm_id, _Window())
        now = time.monotonic()
        _trim(window.minute, now, 60)
        _trim(window.second, now, 1)
        _trim(window.batch_minute, now, 60)
        limits = self.limits
        if (
            len(window.minute) >= limits.requests_per_minute
            or len(window.second) >= limits.requests_per_second
            or window.in_flight >= limits.concurrent_requests
            or (batch and len(window.batch_minute) >= limits.batch_calls_per_minute)
        ):
            return False
        window.minute.append(now)
        window.second.append(now)
        if batch:
            window.batch_minute.append(now)
        window.in_flight += 1
        return True

    def leave(self, realm_id: str) -> None:
        window = self.realms.get(realm_id)
        if window is not None and window.in_flight > 0:
            window.in_flight -= 1
