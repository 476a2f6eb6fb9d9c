"""The company's calendar: "today" where the QuickBooks company is (overdue is decided on it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from application.errors import (
    IntegrationNotConnectedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.accounting import AccountingGateway
from application.ports.clock import Clock


def company_today(now: datetime, time_zone: str | None) -> date:
    """Today's date where the company is (QuickBooks' company time zone), else UTC."""
    try:
        zone = ZoneInfo(time_zone) if time_zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return now.astimezone(zone).date()


async def today_of(company_id: str, accounting: AccountingGateway, clock: Clock) -> date:
    """The company's today, from its QuickBooks time zone (kept from the connect)."""
    zone: str | None
    try:
        zone = await accounting.time_zone(company_id)
    except (IntegrationNotConnectedError, UpstreamUnavailableError, UpstreamRejectedError):
        zone = None  # status labels still work; the calendar falls back to UTC
    return company_today(clock.now(), zone)
