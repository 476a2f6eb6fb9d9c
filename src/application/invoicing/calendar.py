"""The company's calendar: "today" where the QuickBooks company is (overdue is decided on it)."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from application.errors import (
    IntegrationNotConnectedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.accounting import AccountingGateway
from application.ports.clock import Clock


def zone_of(time_zone: str | None) -> tzinfo:
    """The named time zone (QuickBooks' company time zone), else UTC."""
    try:
        return ZoneInfo(time_zone) if time_zone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def company_today(now: datetime, time_zone: str | None) -> date:
    """Today's date where the company is (QuickBooks' company time zone), else UTC."""
    return now.astimezone(zone_of(time_zone)).date()


async def company_zone(company_id: str, accounting: AccountingGateway) -> tzinfo:
    """Where the company is, from its QuickBooks time zone (kept from the connect)."""
    zone: str | None
    try:
        zone = await accounting.time_zone(company_id)
    except (IntegrationNotConnectedError, UpstreamUnavailableError, UpstreamRejectedError):
        zone = None  # status labels still work; the calendar falls back to UTC
    return zone_of(zone)


async def today_of(company_id: str, accounting: AccountingGateway, clock: Clock) -> date:
    """The company's today, from its QuickBooks time zone (kept from the connect)."""
    return clock.now().astimezone(await company_zone(company_id, accounting)).date()
