"""The emulator's settable clock and QBO's date/time wire formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Clock:
    """Wall time plus an offset, or a frozen instant. Everything in the emulator asks it."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(UTC) + self._offset

    def set(self, when: datetime, *, freeze: bool = False) -> None:
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if freeze:
            self._frozen = when
            self._offset = timedelta(0)
        else:
            self._frozen = None
            self._offset = when - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def reset(self) -> None:
        self._offset = timedelta(0)
        self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def meta_time(moment: datetime, tz: tzinfo) -> str:
    """MetaData times: ISO with offset, no milliseconds (``2015-07-24T10:33:39-07:00``)."""
    return moment.astimezone(tz).replace(microsecond=0).isoformat()


def envelope_time(moment: datetime, tz: tzinfo) -> str:
    """The ``time`` member of every response: milliseconds and offset."""
    local = moment.astimezone(tz)
    return local.isoformat(timespec="milliseconds")


def local_date(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def parse_datetime(text: str, tz: tzinfo) -> datetime:
    """Accept ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM:SS`` (company-local) and full ISO with offset."""
    raw = text.strip()
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    if len(raw) == 10:
        parsed_date = date.fromisoformat(raw)
        return datetime(parsed_date.year, parsed_date.month, parsed_date.day, tzinfo=tz)
    parsed = datetime.fromisoformat(raw)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed
