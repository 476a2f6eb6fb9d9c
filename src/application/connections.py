"""Connecting a company to QuickBooks, disconnecting it, and reporting connection health.

The OAuth ``state`` is a single-use nonce bound to the company and admin, valid 10 minutes (CSRF).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta
from typing import Final

import structlog

from application.auth import Principal
from application.errors import (
    ApplicationError,
    IntegrationNotConnectedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.accounting import AccountingAuthorizer, AccountingGateway
from application.ports.clock import Clock
from application.ports.connections import (
    OAuthState,
    OAuthStateStore,
    TokenStore,
    could_be_nonce,
)
from application.ports.sync import NoticeStore
from application.reasons import MetadataKey, Reason
from domain.connection import Connection, Vendor
from domain.messages import MessageCode, english

log = structlog.get_logger("dealbooks.connections")

STATE_TTL: Final = timedelta(minutes=10)
#: Shown as "expiring soon", and QuickBooks warns "reconnect soon", when the refresh token has
#: less than this left: a month gives an admin time to notice (Intuit's five-year hard cap).
REFRESH_WARNING: Final = timedelta(days=30)
#: The OAuth state of a reconnect carries the realm the company must come back with.
EXPECTED_REALM: Final = "expected_realm_id"


class ConnectStateError(ApplicationError):
    """The OAuth callback's ``state`` is unknown, used already or expired."""

    reason = Reason.OAUTH_STATE_INVALID


class ConnectDeniedError(ApplicationError):
    """The person declined (or QuickBooks refused) the connection on Intuit's page."""

    reason = Reason.QUICKBOOKS_CONNECT_DENIED


class OtherCompanyChosenError(ConnectDeniedError):
    """A reconnect came back with another QuickBooks company than the one it was for."""


@dataclass(frozen=True, slots=True)
class ConnectStartView:
    authorization_url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ConnectionStateView:
    """One vendor's connection, as the settings page and ConnectionService show it."""

    vendor: Vendor
    state: str  # "connected" | "needs_reconnect" | "not_connected"
    company_name: str = ""
    external_id: str = ""  # QuickBooks realm id / Pipedrive company id
    environment: str = ""
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    access_token_expired: bool = False
    refresh_expires_soon: bool = False
    connected_by: str = ""
    connected_at: datetime | None = None
    failure_reason: str = ""
    last_synced_at: datetime | None = None
    reads_rationed: bool = False  # QuickBooks: the month's metered reads are running low
    warnings: tuple[ConnectionWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectionWarning:
    """Something an admin should act on before the connection stops: a stable code, its
    parameters (the UI says it in the user's language) and its English."""

    code: MessageCode
    params: Mapping[str, str]

    @property
    def message(self) -> str:
        return english(self.code, self.params)


@dataclass(frozen=True, slots=True)
class ConnectionsView:
    company_id: str
    quickbooks: ConnectionStateView
    pipedrive: ConnectionStateView


@dataclass(frozen=True, slots=True)
class CompletedConnectView:
    connection: ConnectionStateView
    return_to: str


def connection_state(
    vendor: Vendor, connection: Connection | None, now: datetime
) -> ConnectionStateView:
    if connection is None:
        return ConnectionStateView(vendor=vendor, state="not_connected")
    tokens = connection.tokens
    refresh_soon = (
        tokens.refresh_expires_at is not None and tokens.refresh_expires_at - REFRESH_WARNING <= now
    )
    warnings: tuple[ConnectionWarning, ...] = ()
    if (
        vendor is Vendor.QUICKBOOKS
        and refresh_soon
        and tokens.refresh_expires_at is not None
        and connection.is_usable
    ):
        # The stored expiry is the earlier of the rolling one (~101 days, pushed back by every
        # refresh, and the service refreshes at least daily for the catch-up) and Intuit's
        # five-year hard cap (x_refresh_token_hard_expires_in). [U] Intuit does not say whether
        # anything but a new consent moves the hard cap; we assume only a reconnect does, so
        # within a month of it an admin is asked to reconnect.
        warnings = (
            ConnectionWarning(
                MessageCode.QUICKBOOKS_RECONNECT_SOON,
                {"date": tokens.refresh_expires_at.date().isoformat()},
            ),
        )
    return ConnectionStateView(
        vendor=vendor,
        state=connection.status.value,  # "connected" or "needs_reconnect"
        company_name=connection.display_name,
        external_id=connection.external_id,
        environment=connection.environment,
        access_expires_at=tokens.access_expires_at,
        refresh_expires_at=tokens.refresh_expires_at,
        access_token_expired=tokens.access_expires_at <= now,
        refresh_expires_soon=refresh_soon,
        connected_by=connection.connected_by,
        connected_at=connection.connected_at,
        failure_reason=connection.failure_reason,
        warnings=warnings,
    )


@dataclass(frozen=True, slots=True)
class StartQuickBooksConnect:
    """An admin starts connecting QuickBooks: returns Intuit's consent URL with a fresh state."""

    state_store: OAuthStateStore
    authorizer: AccountingAuthorizer
    clock: Clock
    _: KW_ONLY
    nonce: Callable[[], str] = lambda: secrets.token_urlsafe(32)

    async def execute(
        self,
        principal: Principal,
        company_id: str,
        *,
        return_to: str = "",
        same_realm_as: str | None = None,
    ) -> ConnectStartView:
        """``same_realm_as``: a reconnect, which must come back with that QuickBooks company."""
        principal.ensure_admin(company_id)
        expires_at = self.clock.now() + STATE_TTL
        state = OAuthState(
            nonce=self.nonce(),
            company_id=company_id,
            user_id=principal.subject,
            vendor=Vendor.QUICKBOOKS,
            expires_at=expires_at,
            return_to=return_to,
            extra={EXPECTED_REALM: same_realm_as} if same_realm_as else {},
        )
        await self.state_store.put(state)
        log.info(
            "quickbooks.connect_started",
            company_id=company_id,
            user_id=principal.subject,
            reconnect=bool(same_realm_as),
        )
        return ConnectStartView(self.authorizer.authorization_url(state.nonce), expires_at)


@dataclass(frozen=True, slots=True)
class CompleteQuickBooksConnect:
    """Intuit redirected back: check the state, exchange the code, store the connection."""

    state_store: OAuthStateStore
    authorizer: AccountingAuthorizer
    token_store: TokenStore
    clock: Clock

    async def execute(
        self,
        *,
        state: str,
        code: str | None,
        realm_id: str | None,
        error: str | None = None,
    ) -> CompletedConnectView:
        now = self.clock.now()
        # Taken first, whatever else the callback says: a state is good for one answer only.
        taken = await self.state_store.take(state, now) if could_be_nonce(state) else None
        if taken is None or taken.vendor is not Vendor.QUICKBOOKS:
            raise ConnectStateError(
                "This connection link has expired or was already used. "
                "Start connecting QuickBooks again from the settings page."
            )
        if error:
            log.info("quickbooks.connect_declined", company_id=taken.company_id, error=error[:64])
            message = (
                "QuickBooks was not connected: the connection was cancelled on Intuit's page."
                if error == "access_denied"
                else "QuickBooks did not allow the connection. Please try again."
            )
            raise ConnectDeniedError(message, metadata={MetadataKey.VENDOR_ERROR: error[:64]})
        if not code or not realm_id:
            raise ConnectDeniedError(
                "QuickBooks did not send back the connection details. Please try again."
            )
        tokens, company = await self.authorizer.exchange_code(code, realm_id)
        expected = taken.extra.get(EXPECTED_REALM)
        if expected and company.realm_id != expected:
            # The invoices already made live in the expected company: switching companies is a
            # disconnect and a new connect, never a side effect of "reconnect". The grant just
            # made for the other company is given back.
            try:
                await self.authorizer.revoke(tokens.refresh_token)
            except (UpstreamUnavailableError, UpstreamRejectedError) as exc:
                log.warning(
                    "quickbooks.revoke_failed", company_id=taken.company_id, reason=exc.reason
                )
            log.info(
                "quickbooks.reconnect_refused",
                company_id=taken.company_id,
                expected_realm_id=expected,
                realm_id=company.realm_id,
            )
            raise OtherCompanyChosenError(
                "You chose another QuickBooks company than the one dealbooks is connected to. "
                "Reconnect and choose the same company; to change company, disconnect first.",
                metadata={MetadataKey.REALM: expected},
            )
        connection = Connection(
            company_id=taken.company_id,
            vendor=Vendor.QUICKBOOKS,
            external_id=company.realm_id,
            tokens=tokens,
            display_name=company.name,
            environment=company.environment,
            time_zone=company.time_zone,
            connected_by=taken.user_id,
            connected_at=now,
            updated_at=now,
        )
        stored = await self.token_store.save(connection)
        log.info(
            "quickbooks.connected",
            company_id=taken.company_id,
            realm_id=company.realm_id,
            environment=company.environment,
        )
        return CompletedConnectView(
            connection_state(Vendor.QUICKBOOKS, stored, now), taken.return_to
        )


@dataclass(frozen=True, slots=True)
class DisconnectQuickBooks:
    """Revoke the tokens at Intuit (best effort) and forget them, with the change notices
    QuickBooks sent for the realm (they can no longer be applied) unless another company is
    connected to it."""

    token_store: TokenStore
    authorizer: AccountingAuthorizer
    clock: Clock
    notices: NoticeStore | None = None

    async def execute(self, principal: Principal, company_id: str) -> ConnectionStateView:
        principal.ensure_admin(company_id)
        connection = await self.token_store.load(company_id, Vendor.QUICKBOOKS)
        if connection is not None:
            try:
                await self.authorizer.revoke(connection.tokens.refresh_token)
            except (UpstreamUnavailableError, UpstreamRejectedError) as exc:
                # The tokens are forgotten anyway; Intuit drops unused grants after ~100 days.
                log.warning("quickbooks.revoke_failed", company_id=company_id, reason=exc.reason)
            await self.token_store.delete(company_id, Vendor.QUICKBOOKS)
            realm = connection.external_id
            if self.notices is not None and not await self.token_store.load_by_external_id(
                Vendor.QUICKBOOKS, realm
            ):
                await self.notices.forget_realm(realm)
            log.info(
                "quickbooks.disconnected",
                company_id=company_id,
                realm_id=connection.external_id,
                user_id=principal.subject,
            )
        return connection_state(Vendor.QUICKBOOKS, None, self.clock.now())


@dataclass(frozen=True, slots=True)
class StartQuickBooksReconnect:
    """An admin reconnects: the connect flow again, which must come back with the same
    QuickBooks company (realm) as the stored connection. Without a stored connection (it was
    disconnected from dealbooks, which forgets it) it is a plain connect."""

    token_store: TokenStore
    start: StartQuickBooksConnect

    async def execute(
        self, principal: Principal, company_id: str, *, return_to: str = ""
    ) -> ConnectStartView:
        principal.ensure_admin(company_id)
        stored = await self.token_store.load(company_id, Vendor.QUICKBOOKS)
        return await self.start.execute(
            principal,
            company_id,
            return_to=return_to,
            same_realm_as=stored.external_id if stored is not None else None,
        )


@dataclass(frozen=True, slots=True)
class CheckedConnectionView:
    connection: ConnectionStateView
    checked: bool  # False: QuickBooks could not be asked just now; the stored state is shown


@dataclass(frozen=True, slots=True)
class CheckQuickBooksConnection:
    """Ask QuickBooks whether the company's connection still works (one small read with the
    stored token) and answer with its state. A revoked grant ends as "needs reconnect" through
    the adapter's own refresh path; nothing the caller says can mark a connection broken."""

    token_store: TokenStore
    accounting: AccountingGateway
    clock: Clock

    async def execute(self, company_id: str) -> CheckedConnectionView:
        stored = await self.token_store.load(company_id, Vendor.QUICKBOOKS)
        checked = True
        if stored is not None and stored.is_usable:
            try:
                await self.accounting.check_connection(company_id)
            except IntegrationNotConnectedError:
                stored = await self.token_store.load(company_id, Vendor.QUICKBOOKS)
                log.info(
                    "quickbooks.connection_lost",
                    company_id=company_id,
                    realm_id=stored.external_id if stored else "",
                )
            except (UpstreamUnavailableError, UpstreamRejectedError) as exc:
                log.warning(
                    "quickbooks.connection_check_failed", company_id=company_id, reason=exc.reason
                )
                checked = False
        return CheckedConnectionView(
            connection_state(Vendor.QUICKBOOKS, stored, self.clock.now()), checked
        )

    async def execute_for_realm(self, realm_id: str) -> CheckedConnectionView | None:
        """The same check for the company connected to ``realm_id``; None when none is."""
        stored = await self.token_store.load_by_external_id(Vendor.QUICKBOOKS, realm_id)
        return None if stored is None else await self.execute(stored.company_id)


@dataclass(frozen=True, slots=True)
class GetConnections:
    """QuickBooks and Pipedrive connection state with token health, for any user of the
    company (nothing secret is shown)."""

    token_store: TokenStore
    clock: Clock
    notices: NoticeStore | None = None
    accounting: AccountingGateway | None = None

    async def execute(self, principal: Principal, company_id: str) -> ConnectionsView:
        principal.ensure_can_access(company_id)
        now = self.clock.now()
        quickbooks = await self.token_store.load(company_id, Vendor.QUICKBOOKS)
        pipedrive = await self.token_store.load(company_id, Vendor.PIPEDRIVE)
        quickbooks_view = connection_state(Vendor.QUICKBOOKS, quickbooks, now)
        if self.notices is not None and quickbooks is not None:
            # "Last synced" for the company: until when QuickBooks' changes are applied (CDC).
            synced = await self.notices.watermark(company_id)
            quickbooks_view = dataclasses.replace(quickbooks_view, last_synced_at=synced)
        if self.accounting is not None and quickbooks is not None:
            rationed = await self.accounting.reads_rationed()
            quickbooks_view = dataclasses.replace(quickbooks_view, reads_rationed=rationed)
        return ConnectionsView(
            company_id=company_id,
            quickbooks=quickbooks_view,
            pipedrive=connection_state(Vendor.PIPEDRIVE, pipedrive, now),
        )
