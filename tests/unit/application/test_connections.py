"""Connecting QuickBooks: start (admin only, state), complete, disconnect, connection health."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.in_memory.accounting import InMemoryAccountingGateway
from adapters.in_memory.accounting_auth import InMemoryAccountingAuthorizer
from adapters.in_memory.connections import InMemoryOAuthStateStore, InMemoryTokenStore
from adapters.in_memory.notices import InMemoryNoticeStore
from adapters.system_clock import FrozenClock
from application.auth import Principal
from application.connections import (
    CheckQuickBooksConnection,
    CompleteQuickBooksConnect,
    ConnectDeniedError,
    ConnectStateError,
    DisconnectQuickBooks,
    GetConnections,
    OtherCompanyChosenError,
    StartQuickBooksConnect,
    StartQuickBooksReconnect,
)
from application.errors import (
    IntegrationNotConnectedError,
    PermissionDeniedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.sync import ChangeNotice
from application.reasons import MetadataKey, Reason
from domain.connection import Connection, ConnectionStatus, OAuthTokens, Vendor
from domain.messages import MessageCode

NOW = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
COMPANY = "1001"
REALM = "9130354840911234"
ADMIN = Principal("user-7", frozenset({COMPANY}), is_admin=True)
MEMBER = Principal("user-8", frozenset({COMPANY}), is_admin=False)
OUTSIDER = Principal("user-9", frozenset({"2002"}), is_admin=True)


class World:
    def __init__(self) -> None:
        self.clock = FrozenClock(NOW)
        self.states = InMemoryOAuthStateStore()
        self.tokens = InMemoryTokenStore()
        self.authorizer = InMemoryAccountingAuthorizer(now=NOW)
        self.start = StartQuickBooksConnect(self.states, self.authorizer, self.clock)
        self.complete = CompleteQuickBooksConnect(
            self.states, self.authorizer, self.tokens, self.clock
        )
        self.notices = InMemoryNoticeStore()
        self.disconnect = DisconnectQuickBooks(
            self.tokens, self.authorizer, self.clock, self.notices
        )
        self.get = GetConnections(self.tokens, self.clock)

    async def started_state(self) -> str:
        view = await self.start.execute(ADMIN, COMPANY, return_to="https://app.example/settings")
        return parse_qs(urlsplit(view.authorization_url).query)["state"][0]

    async def connected(self) -> Connection:
        state = await self.started_state()
        await self.complete.execute(
            state=state, code=self.authorizer.approve(REALM), realm_id=REALM
        )
        connection = await self.tokens.load(COMPANY, Vendor.QUICKBOOKS)
        assert connection is not None
        return connection


@pytest.fixture
def world() -> World:
    return World()


async def test_an_admin_gets_the_consent_url_with_a_state_bound_to_company_and_user(
    world: World,
) -> None:
    view = await world.start.execute(ADMIN, COMPANY)
    state = parse_qs(urlsplit(view.authorization_url).query)["state"][0]
    stored = world.states.states[state]
    assert stored.company_id == COMPANY
    assert stored.user_id == "user-7"
    assert stored.vendor is Vendor.QUICKBOOKS
    assert stored.expires_at == NOW + timedelta(minutes=10) == view.expires_at
    assert len(state) >= 32


async def test_only_admins_of_the_company_may_start_connecting(world: World) -> None:
    with pytest.raises(PermissionDeniedError) as raised:
        await world.start.execute(MEMBER, COMPANY)
    assert raised.value.reason == Reason.ADMIN_REQUIRED
    with pytest.raises(PermissionDeniedError):
        await world.start.execute(OUTSIDER, COMPANY)
    assert world.states.states == {}


async def test_completing_stores_the_realm_tokens_company_name_and_environment(
    world: World,
) -> None:
    state = await world.started_state()
    done = await world.complete.execute(
        state=state, code=world.authorizer.approve(REALM), realm_id=REALM
    )
    assert done.return_to == "https://app.example/settings"
    assert done.connection.state == "connected"
    stored = await world.tokens.load(COMPANY, Vendor.QUICKBOOKS)
    assert stored is not None
    assert stored.external_id == REALM
    assert stored.display_name == "Fake Books Inc."
    assert stored.environment == "sandbox"
    assert stored.connected_by == "user-7"
    assert stored.connected_at == NOW
    assert stored.status is ConnectionStatus.CONNECTED


async def test_a_state_works_once(world: World) -> None:
    state = await world.started_state()
    await world.complete.execute(state=state, code=world.authorizer.approve(REALM), realm_id=REALM)
    with pytest.raises(ConnectStateError) as raised:
        await world.complete.execute(
            state=state, code=world.authorizer.approve(REALM), realm_id=REALM
        )
    assert raised.value.reason == Reason.OAUTH_STATE_INVALID


async def test_an_unknown_or_expired_state_is_refused_before_any_code_exchange(
    world: World,
) -> None:
    with pytest.raises(ConnectStateError):
        await world.complete.execute(state="forged", code="c", realm_id=REALM)
    state = await world.started_state()
    world.clock.advance(timedelta(minutes=10, seconds=1))
    with pytest.raises(ConnectStateError):
        await world.complete.execute(
            state=state, code=world.authorizer.approve(REALM), realm_id=REALM
        )
    assert world.authorizer.exchanges == 0
    assert await world.tokens.load(COMPANY, Vendor.QUICKBOOKS) is None


async def test_a_declined_consent_consumes_the_state_and_says_so(world: World) -> None:
    state = await world.started_state()
    with pytest.raises(ConnectDeniedError) as raised:
        await world.complete.execute(state=state, code=None, realm_id=None, error="access_denied")
    assert "cancelled" in raised.value.message
    assert world.states.states == {}
    assert await world.tokens.load(COMPANY, Vendor.QUICKBOOKS) is None


async def test_a_refused_code_is_reported_and_nothing_is_stored(world: World) -> None:
    state = await world.started_state()
    with pytest.raises(UpstreamRejectedError):
        await world.complete.execute(state=state, code="used-code", realm_id=REALM)
    assert await world.tokens.load(COMPANY, Vendor.QUICKBOOKS) is None


async def test_disconnect_revokes_and_forgets_the_tokens(world: World) -> None:
    connection = await world.connected()
    view = await world.disconnect.execute(ADMIN, COMPANY)
    assert view.state == "not_connected"
    assert world.authorizer.revoked == [connection.tokens.refresh_token]
    assert await world.tokens.load(COMPANY, Vendor.QUICKBOOKS) is None


async def test_disconnect_forgets_the_realms_notices_unless_another_company_uses_it(
    world: World,
) -> None:
    connection = await world.connected()
    notice = ChangeNotice("n1", REALM, "Invoice", "1", "Update", NOW)
    world.notices.notices[notice.key] = (notice, NOW, None)
    await world.tokens.save(replace(connection, company_id="2002"))

    await world.disconnect.execute(ADMIN, COMPANY)
    assert list(world.notices.notices) == ["n1"]  # company 2002 still applies them

    await world.disconnect.execute(Principal("ops", None, is_admin=True), "2002")
    assert world.notices.notices == {}


async def test_disconnect_forgets_the_tokens_even_when_revoking_fails(world: World) -> None:
    await world.connected()
    world.authorizer.fail_revoke = UpstreamUnavailableError("down")
    await world.disconnect.execute(ADMIN, COMPANY)
    assert await world.tokens.load(COMPANY, Vendor.QUICKBOOKS) is None


async def test_only_admins_may_disconnect(world: World) -> None:
    await world.connected()
    with pytest.raises(PermissionDeniedError):
        await world.disconnect.execute(MEMBER, COMPANY)
    assert await world.tokens.load(COMPANY, Vendor.QUICKBOOKS) is not None


async def test_connections_report_state_names_realm_environment_and_token_health(
    world: World,
) -> None:
    empty = await world.get.execute(MEMBER, COMPANY)
    assert empty.quickbooks.state == "not_connected"
    assert empty.pipedrive.state == "not_connected"

    await world.connected()
    await world.tokens.save(
        Connection(
            company_id=COMPANY,
            vendor=Vendor.PIPEDRIVE,
            external_id="13",
            tokens=OAuthTokens("a", "r", NOW + timedelta(hours=1), NOW + timedelta(days=3)),
            display_name="Acme Sales",
        )
    )
    world.clock.advance(timedelta(hours=2))
    view = await world.get.execute(MEMBER, COMPANY)
    qb = view.quickbooks
    assert qb.state == "connected"
    assert qb.company_name == "Fake Books Inc."
    assert qb.external_id == REALM
    assert qb.environment == "sandbox"
    assert qb.access_expires_at == NOW + timedelta(hours=1)
    assert qb.access_token_expired
    assert qb.refresh_expires_at == NOW + timedelta(days=101)
    assert not qb.refresh_expires_soon
    assert view.pipedrive.state == "connected"
    assert view.pipedrive.company_name == "Acme Sales"
    assert view.pipedrive.refresh_expires_soon


async def test_a_broken_connection_needs_a_reconnect(world: World) -> None:
    connection = await world.connected()
    await world.tokens.save(replace(connection.broken("invalid_grant", NOW), version=0))
    view = await world.get.execute(MEMBER, COMPANY)
    assert view.quickbooks.state == "needs_reconnect"
    assert view.quickbooks.failure_reason == "invalid_grant"


async def test_other_companies_connections_are_not_shown(world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        await world.get.execute(OUTSIDER, COMPANY)


OTHER_REALM = "9130354840922468"


async def reconnect_state(world: World) -> str:
    reconnect = StartQuickBooksReconnect(world.tokens, world.start)
    view = await reconnect.execute(ADMIN, COMPANY, return_to="https://app.example/settings")
    return parse_qs(urlsplit(view.authorization_url).query)["state"][0]


async def test_a_reconnect_with_the_same_company_replaces_the_tokens(world: World) -> None:
    first = await world.connected()
    await world.tokens.mark_broken(COMPANY, Vendor.QUICKBOOKS, "invalid_grant", NOW)
    state = await reconnect_state(world)
    done = await world.complete.execute(
        state=state, code=world.authorizer.approve(REALM), realm_id=REALM
    )
    assert done.connection.state == "connected"
    stored = await world.tokens.load(COMPANY, Vendor.QUICKBOOKS)
    assert stored is not None
    assert stored.external_id == REALM
    assert stored.tokens.refresh_token != first.tokens.refresh_token


async def test_a_reconnect_that_comes_back_with_another_company_is_refused_and_revoked(
    world: World,
) -> None:
    first = await world.connected()
    state = await reconnect_state(world)
    with pytest.raises(OtherCompanyChosenError) as raised:
        await world.complete.execute(
            state=state, code=world.authorizer.approve(OTHER_REALM), realm_id=OTHER_REALM
        )
    assert raised.value.metadata == {MetadataKey.REALM: REALM}
    assert len(world.authorizer.revoked) == 1  # the other company's new grant, given back
    stored = await world.tokens.load(COMPANY, Vendor.QUICKBOOKS)
    assert stored == first


async def test_a_reconnect_without_a_stored_connection_is_a_plain_connect(world: World) -> None:
    state = await reconnect_state(world)
    await world.complete.execute(
        state=state, code=world.authorizer.approve(OTHER_REALM), realm_id=OTHER_REALM
    )
    stored = await world.tokens.load(COMPANY, Vendor.QUICKBOOKS)
    assert stored is not None
    assert stored.external_id == OTHER_REALM


async def test_the_check_asks_quickbooks_and_keeps_a_working_connection(world: World) -> None:
    await world.connected()
    accounting = InMemoryAccountingGateway()
    accounting.connect(COMPANY)
    checked = await CheckQuickBooksConnection(world.tokens, accounting, world.clock).execute(
        COMPANY
    )
    assert checked.checked
    assert checked.connection.state == "connected"
    assert accounting.calls == ["check_connection"]


async def test_the_check_shows_what_quickbooks_left_when_it_refuses(world: World) -> None:
    await world.connected()
    accounting = InMemoryAccountingGateway()
    accounting.connect(COMPANY)

    async def revoked(company_id: str) -> None:
        # What the adapter does when the refresh is refused: mark it, then say not connected.
        await world.tokens.mark_broken(company_id, Vendor.QUICKBOOKS, "invalid_grant", NOW)
        raise IntegrationNotConnectedError("reconnect", reason=Reason.QUICKBOOKS_RECONNECT_REQUIRED)

    accounting.check_connection = revoked  # type: ignore[method-assign]
    check = CheckQuickBooksConnection(world.tokens, accounting, world.clock)
    assert (await check.execute(COMPANY)).connection.state == "needs_reconnect"
    by_realm = await check.execute_for_realm(REALM)
    assert by_realm is not None
    assert by_realm.connection.state == "needs_reconnect"
    assert await check.execute_for_realm("123") is None


async def test_an_unreachable_quickbooks_leaves_the_stored_state_unchecked(world: World) -> None:
    await world.connected()
    accounting = InMemoryAccountingGateway()
    accounting.connect(COMPANY)
    accounting.failures["check_connection"] = [
        UpstreamUnavailableError("down", reason=Reason.QUICKBOOKS_UNAVAILABLE)
    ]
    checked = await CheckQuickBooksConnection(world.tokens, accounting, world.clock).execute(
        COMPANY
    )
    assert not checked.checked
    assert checked.connection.state == "connected"


async def test_the_connection_says_when_the_months_quickbooks_reads_run_low(world: World) -> None:
    await world.connected()
    accounting = InMemoryAccountingGateway()
    get = GetConnections(world.tokens, world.clock, accounting=accounting)
    assert not (await get.execute(MEMBER, COMPANY)).quickbooks.reads_rationed
    accounting.rationed = True
    assert (await get.execute(MEMBER, COMPANY)).quickbooks.reads_rationed


async def test_a_month_before_intuits_limit_ends_the_connection_it_asks_to_reconnect(
    world: World,
) -> None:
    connection = await world.connected()
    hard_cap = NOW + timedelta(days=400)
    tokens = replace(connection.tokens, refresh_expires_at=hard_cap)
    await world.tokens.save(replace(connection, tokens=tokens))

    world.clock.advance(timedelta(days=369, hours=23))  # 30 days and an hour before
    assert (await world.get.execute(MEMBER, COMPANY)).quickbooks.warnings == ()

    world.clock.advance(timedelta(hours=1))  # 30 days before
    view = (await world.get.execute(MEMBER, COMPANY)).quickbooks
    assert view.refresh_expires_soon
    assert [(w.code, dict(w.params)) for w in view.warnings] == [
        (MessageCode.QUICKBOOKS_RECONNECT_SOON, {"date": hard_cap.date().isoformat()})
    ]
    assert view.warnings[0].message == (
        f"QuickBooks will stop accepting dealbooks' connection on {hard_cap.date().isoformat()} "
        "(Intuit ends every connection after five years): an admin needs to reconnect "
        "QuickBooks before then."
    )


async def test_a_connection_already_refused_says_reconnect_not_reconnect_soon(
    world: World,
) -> None:
    connection = await world.connected()
    tokens = replace(connection.tokens, refresh_expires_at=NOW + timedelta(days=3))
    await world.tokens.save(replace(connection, tokens=tokens).broken("invalid_grant", NOW))

    view = (await world.get.execute(MEMBER, COMPANY)).quickbooks

    assert view.state == "needs_reconnect"
    assert view.warnings == ()
