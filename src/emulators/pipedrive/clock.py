"""A settable clock: every time the emulator reads comes from here so tests can move it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time plus an adjustable offset (or a frozen instant)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: float | None = None

    def time(self) -> float:
        """Seconds since the epoch, as seen by the emulator."""
        if self._frozen is not None:
            return self._frozen
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def set(self, when: datetime, *, frozen: bool = False) -> None:
        target = when.timestamp()
        if frozen:
            self._frozen = target
        else:
            self._frozen = None
            self._offset = target - time.time()

    def advance(self, seconds: float) -> None:
        if self._frozen is not None:
            self._frozen += seconds
        else:
            self._offset += seconds

    def reset(self) -> None:
        self._offset = 0.0
        self._frozen = None


def v2_time(when: datetime) -> str:
    """API v2 timestamps: RFC 3339, UTC, whole seconds (`2021-01-01T00:00:00Z`)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def v1_time(when: datetime) -> str:
    """API v1 timestamps: `YYYY-MM-DD HH:MM:SS`, UTC."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso_millis(when: datetime) -> str:
    """Webhook meta / webhook objects: `2022-11-24T15:11:55.724Z`."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


__all__ = ["Clock", "iso_millis", "parse_iso", "timedelta", "v1_time", "v2_time"]
