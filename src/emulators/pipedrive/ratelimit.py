"""Per-token burst window and per-company daily token budget (reference §10)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .clock import Clock


@dataclass
class Verdict:
    allowed: bool
    headers: dict[str, str]
    reason: str = ""  # "burst" | "daily" when refused
    retry_after: int = 0


@dataclass
class RateLimiter:
    clock: Clock
    window_seconds: float
    daily_budget: int
    daily_write_requests: int
    daily_token_headers: bool
    _windows: dict[str, deque[float]] = field(default_factory=dict)
    _spent: dict[tuple[int, str], int] = field(default_factory=dict)
    _writes: dict[tuple[str, str], int] = field(default_factory=dict)

    def reset(self) -> None:
        self._windows.clear()
        self._spent.clear()
        self._writes.clear()

    def _day(self) -> str:
        # Budgets reset at midnight "server time"; the zone is not stated, we use UTC.
        return self.clock.now().strftime("%Y-%m-%d")

    def _seconds_to_midnight(self) -> int:
        now = self.clock.now()
        tomorrow = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
        return max(1, math.ceil((tomorrow - now).total_seconds()))

    def spent_today(self, company_id: int) -> int:
        return self._spent.get((company_id, self._day()), 0)

    def set_spent_today(self, company_id: int, tokens: int) -> None:
        self._spent[(company_id, self._day())] = tokens

    def check(
        self,
        *,
        token_key: str,
        limit: int,
        company_id: int,
        cost: int,
        is_api_token: bool,
        is_write: bool,
    ) -> Verdict:
        now = self.clock.time()
        window = self._windows.setdefault(token_key, deque())
        while window and window[0] <= now - self.window_seconds:
            window.popleft()
        reset = (
            max(1, math.ceil(window[0] + self.window_seconds - now))
            if window
            else math.ceil(self.window_seconds)
        )
        day_key = (company_id, self._day())
        spent = self._spent.get(day_key, 0)
        headers = {"x-ratelimit-limit": str(limit)}
        if len(window) >= limit:
            headers["x-ratelimit-remaining"] = "0"
            headers["x-ratelimit-reset"] = str(reset)
            headers["retry-after"] = str(reset)
            self._daily_headers(headers, spent, is_api_token, token_key)
            return Verdict(False, headers, "burst", reset)
        if spent + cost > self.daily_budget:
            headers["x-ratelimit-remaining"] = str(limit - len(window))
            headers["x-ratelimit-reset"] = str(reset)
            retry = self._seconds_to_midnight()
            headers["retry-after"] = str(retry)
            self._daily_headers(headers, spent, is_api_token, token_key)
            return Verdict(False, headers, "daily", retry)
        window.append(now)
        self._spent[day_key] = spent + cost
        if is_api_token and is_write:
            write_key = (token_key, self._day())
            self._writes[write_key] = self._writes.get(write_key, 0) + 1
        headers["x-ratelimit-remaining"] = str(limit - len(window))
        reset = max(1, math.ceil(window[0] + self.window_seconds - now))
        headers["x-ratelimit-reset"] = str(reset)
        self._daily_headers(headers, spent + cost, is_api_token, token_key)
        return Verdict(True, headers)

    def _daily_headers(
        self, headers: dict[str, str], spent: int, is_api_token: bool, token_key: str
    ) -> None:
        if self.daily_token_headers:
            headers["x-daily-ratelimit-token-limit"] = str(self.daily_budget)
            headers["x-daily-ratelimit-token-remaining"] = str(max(0, self.daily_budget - spent))
        if is_api_token:
            # "POST/PUT requests left today (UTC)", api_token requests only (reference §10).
            used = self._writes.get((token_key, self._day()), 0)
            headers["x-daily-requests-left"] = str(max(0, self.daily_write_requests - used))
