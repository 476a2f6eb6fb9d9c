"""A company's connection to QuickBooks or Pipedrive: who it is there, and its OAuth tokens."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import InvalidValueError
from domain.messages import MessageCode


class Vendor(StrEnum):
    QUICKBOOKS = "quickbooks"
    PIPEDRIVE = "pipedrive"


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    """The vendor refused our refresh token (revoked, expired): a person must reconnect."""


@dataclass(frozen=True, slots=True)
class OAuthTokens:
    """Bearer credentials; ``repr`` never shows them (they must not reach a log)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.access_token or not self.refresh_token:
            raise InvalidValueError.of("tokens", MessageCode.TOKENS_REQUIRED)
        if self.access_expires_at.tzinfo is None:
            raise InvalidValueError.of("access_expires_at", MessageCode.NEEDS_TIME_ZONE)

    def access_expires_within(self, now: datetime, margin: timedelta) -> bool:
        return self.access_expires_at - margin <= now


@dataclass(frozen=True, slots=True)
class Connection:
    """``external_id`` is the QuickBooks realm id or the Pipedrive company id.

    ``user_id`` says whose tokens these are: a Pipedrive install is per user (each user
    authorizes the app separately), so a company has one Pipedrive connection per installing
    user; a QuickBooks connection is the company's own (``user_id`` empty).
    """

    company_id: str
    vendor: Vendor
    external_id: str
    tokens: OAuthTokens
    status: ConnectionStatus = ConnectionStatus.CONNECTED
    display_name: str = ""
    environment: str = ""
    api_domain: str = ""
    connected_by: str = ""
    connected_at: datetime | None = None
    updated_at: datetime | None = None
    failure_reason: str = ""
    time_zone: str = ""  # the vendor account's time zone as of the connect (QuickBooks)
    locale: str = ""  # the connecting user's locale as of the connect (Pipedrive)
    user_id: str = ""
    version: int = 0

    def __post_init__(self) -> None:
        if not self.company_id or not self.external_id:
            raise InvalidValueError.of("external_id", MessageCode.COMPANY_IDS_REQUIRED)

    def with_tokens(self, tokens: OAuthTokens, now: datetime) -> Connection:
        return replace(
            self,
            tokens=tokens,
            status=ConnectionStatus.CONNECTED,
            failure_reason="",
            updated_at=now,
        )

    def broken(self, reason: str, now: datetime) -> Connection:
        return replace(
            self,
            status=ConnectionStatus.NEEDS_RECONNECT,
            failure_reason=reason[:500],
            updated_at=now,
        )

    @property
    def is_usable(self) -> bool:
        return self.status is ConnectionStatus.CONNECTED
