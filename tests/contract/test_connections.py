"""TokenStore, OAuthStateStore, DistributedLock and RateLimiter: the fake and Postgres alike."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.connections import (
    InMemoryDistributedLock,
    InMemoryOAuthStateStore,
    InMemoryRateLimiter,
    InMemoryTokenStore,
)
from adapters.postgres.connections import PostgresOAuthStateStore, PostgresTokenStore
from adapters.postgres.coordination import PostgresDistributedLock, PostgresRateLimiter
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from application.ports.connections import (
    DistributedLock,
    OAuthState,
    OAuthStateStore,
    RateLimit,
    RateLimiter,
    TokenStore,
)
from domain.connection import Connection, ConnectionStatus, OAuthTokens, Vendor

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LONG_REALM = "9130354840911234"
BACKENDS = ["in_memory", pytest.param("postgres", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest) -> AsyncEngine | None:
    return request.getfixturevalue("pg_engine") if backend == "postgres" else None


@pytest.fixture
def token_store(backend: str, engine: AsyncEngine | None) -> TokenStore:
    if engine is None:
        return InMemoryTokenStore()
    return PostgresTokenStore(build_session_factory(engine), SecretBox("k" * 40))


@pytest.fixture
def state_store(backend: str, engine: AsyncEngine | None) -> OAuthStateStore:
    if engine is None:
        return InMemoryOAuthStateStore()
    return PostgresOAuthStateStore(build_session_factory(engine))


@pytest.fixture
def lock(engine: AsyncEngine | None) -> DistributedLock:
    return InMemoryDistributedLock() if engine is None else PostgresDistributedLock(engine)


@pytest.fixture
async def limiter(engine: AsyncEngine | None) -> AsyncIterator[RateLimiter]:
    if engine is None:
        yield InMemoryRateLimiter()
        return
    postgres = PostgresRateLimiter(engine)
    yield postgres
    await postgres.close()  # slots are given back in the background


def tokens(n: int = 1) -> OAuthTokens:
    return OAuthTokens(
        f"access-{n}", f"refresh-{n}", NOW + timedelta(hours=1), NOW + timedelta(days=100)
    )


def connection(company: str = "1001", realm: str = "9130") -> Connection:
    return Connection(
        company_id=company,
        vendor=Vendor.QUICKBOOKS,
        external_id=realm,
        tokens=tokens(),
        display_name="Demo Co",
        environment="sandbox",
        connected_by="7",
        connected_at=NOW,
        updated_at=NOW,
    )


async def connected_to_quickbooks(engine: AsyncEngine, company: str, realm: str = "9130") -> None:
    """``company`` connected to QuickBooks in the database, as every company that invoices is
    (a customer link is made only for the connected QuickBooks company)."""
    store = PostgresTokenStore(build_session_factory(engine), SecretBox("k" * 40))
    await store.save(connection(company=company, realm=realm))


async def test_a_saved_connection_reads_back_with_its_tokens(token_store: TokenStore) -> None:
    await token_store.save(connection())

    loaded = await token_store.load("1001", Vendor.QUICKBOOKS)

    assert loaded is not None
    assert loaded.tokens == tokens()
    assert loaded.display_name == "Demo Co"
    assert await token_store.load("1001", Vendor.PIPEDRIVE) is None
    assert await token_store.load("2002", Vendor.QUICKBOOKS) is None


async def test_a_connection_is_found_by_its_realm(token_store: TokenStore) -> None:
    await token_store.save(connection())

    found = await token_store.load_by_external_id(Vendor.QUICKBOOKS, "9130")

    assert found is not None
    assert found.company_id == "1001"


async def test_new_tokens_replace_the_old_ones_and_clear_a_broken_state(
    token_store: TokenStore,
) -> None:
    await token_store.save(connection())
    await token_store.mark_broken("1001", Vendor.QUICKBOOKS, "invalid_grant", NOW)

    stored = await token_store.store_tokens("1001", Vendor.QUICKBOOKS, tokens(2), NOW)

    assert stored.tokens == tokens(2)
    assert stored.status is ConnectionStatus.CONNECTED
    assert (await token_store.load("1001", Vendor.QUICKBOOKS)) == stored


async def test_a_broken_connection_says_why(token_store: TokenStore) -> None:
    await token_store.save(connection())

    await token_store.mark_broken("1001", Vendor.QUICKBOOKS, "refresh token revoked", NOW)

    loaded = await token_store.load("1001", Vendor.QUICKBOOKS)
    assert loaded is not None
    assert loaded.status is ConnectionStatus.NEEDS_RECONNECT
    assert loaded.failure_reason == "refresh token revoked"


async def test_deleting_forgets_the_tokens(token_store: TokenStore) -> None:
    await token_store.save(connection())

    await token_store.delete("1001", Vendor.QUICKBOOKS)

    assert await token_store.load("1001", Vendor.QUICKBOOKS) is None


@pytest.mark.integration
async def test_tokens_and_the_realm_id_are_not_stored_in_clear_text(pg_engine: AsyncEngine) -> None:
    """Intuit's security review: refresh token and realmId encrypted, the key elsewhere."""
    store = PostgresTokenStore(build_session_factory(pg_engine), SecretBox("k" * 40))
    await store.save(connection(realm=LONG_REALM))

    async with pg_engine.connect() as conn:
        dump = str((await conn.execute(text("SELECT * FROM connections"))).all())

    assert "access-1" not in dump
    assert "refresh-1" not in dump
    assert LONG_REALM not in dump
    found = await store.load_by_external_id(Vendor.QUICKBOOKS, LONG_REALM)
    assert found is not None
    assert (found.company_id, found.external_id) == ("1001", LONG_REALM)


@pytest.mark.integration
async def test_the_realm_is_found_only_with_the_same_secret_key(pg_engine: AsyncEngine) -> None:
    sessions = build_session_factory(pg_engine)
    await PostgresTokenStore(sessions, SecretBox("k" * 40)).save(connection(realm=LONG_REALM))

    other_key = PostgresTokenStore(sessions, SecretBox("another-key-" * 4))

    assert await other_key.load_by_external_id(Vendor.QUICKBOOKS, LONG_REALM) is None


def pipedrive(user: str, *, at: datetime = NOW, n: int = 1, locale: str = "en_US") -> Connection:
    return Connection(
        company_id="1001",
        vendor=Vendor.PIPEDRIVE,
        external_id="1001",
        tokens=tokens(n),
        api_domain="https://acme.pipedrive.com",
        connected_by=user,
        connected_at=at,
        updated_at=at,
        user_id=user,
        locale=locale,
    )


async def test_each_pipedrive_user_has_a_connection_and_calls_use_the_latest_usable(
    token_store: TokenStore,
) -> None:
    await token_store.save(pipedrive("7", n=7, locale="de_DE"))
    await token_store.save(pipedrive("8", at=NOW + timedelta(minutes=1), n=8, locale="fr_FR"))
    latest = await token_store.load("1001", Vendor.PIPEDRIVE)
    assert latest is not None
    assert (latest.user_id, latest.tokens, latest.locale) == ("8", tokens(8), "fr_FR")

    await token_store.mark_broken("1001", Vendor.PIPEDRIVE, "invalid_grant", NOW, user_id="8")

    usable = await token_store.load("1001", Vendor.PIPEDRIVE)
    assert usable is not None
    assert (usable.user_id, usable.tokens, usable.locale) == ("7", tokens(7), "de_DE")
    assert await token_store.connected_companies(Vendor.PIPEDRIVE) == ["1001"]


async def test_a_refreshed_token_is_stored_for_its_own_user(token_store: TokenStore) -> None:
    await token_store.save(pipedrive("7", n=7))
    await token_store.save(pipedrive("8", n=8))

    await token_store.store_tokens("1001", Vendor.PIPEDRIVE, tokens(9), NOW, user_id="7")

    users = {}
    for user in ("7", "8"):
        removal = await token_store.delete_user("1001", Vendor.PIPEDRIVE, user)
        assert removal.removed is not None
        users[user] = removal.removed.tokens
    assert users == {"7": tokens(9), "8": tokens(8)}


async def test_removing_a_user_says_how_many_are_left(token_store: TokenStore) -> None:
    await token_store.save(pipedrive("7"))
    await token_store.save(pipedrive("8"))
    await token_store.save(connection())  # QuickBooks is not a Pipedrive user

    first = await token_store.delete_user("1001", Vendor.PIPEDRIVE, "7")
    again = await token_store.delete_user("1001", Vendor.PIPEDRIVE, "7")
    last = await token_store.delete_user("1001", Vendor.PIPEDRIVE, "8")

    assert first.removed is not None
    assert (first.removed.user_id, first.removed.tokens, first.remaining) == ("7", tokens(), 1)
    assert (again.removed, again.remaining) == (None, 1)
    assert last.remaining == 0
    assert await token_store.load("1001", Vendor.PIPEDRIVE) is None
    assert await token_store.load("1001", Vendor.QUICKBOOKS) is not None


async def test_of_two_users_removed_at_once_exactly_one_is_the_last(
    token_store: TokenStore,
) -> None:
    for attempt in range(5):
        company = f"c{attempt}"
        for user in ("7", "8"):
            await token_store.save(dataclasses.replace(pipedrive(user), company_id=company))

        removals = await asyncio.gather(
            token_store.delete_user(company, Vendor.PIPEDRIVE, "7"),
            token_store.delete_user(company, Vendor.PIPEDRIVE, "8"),
        )

        assert sorted(r.remaining for r in removals) == [0, 1]


async def test_deleting_a_vendor_forgets_every_users_connection(token_store: TokenStore) -> None:
    await token_store.save(pipedrive("7"))
    await token_store.save(pipedrive("8"))

    await token_store.delete("1001", Vendor.PIPEDRIVE)

    assert await token_store.load("1001", Vendor.PIPEDRIVE) is None
    assert (await token_store.delete_user("1001", Vendor.PIPEDRIVE, "8")).remaining == 0


async def test_an_oauth_state_can_be_taken_once(state_store: OAuthStateStore) -> None:
    state = OAuthState("n1", "1001", "7", Vendor.QUICKBOOKS, NOW + timedelta(minutes=10))
    await state_store.put(state)

    assert await state_store.take("n1", NOW) == state
    assert await state_store.take("n1", NOW) is None


async def test_an_expired_oauth_state_is_refused(state_store: OAuthStateStore) -> None:
    await state_store.put(OAuthState("n2", "1001", "7", Vendor.QUICKBOOKS, NOW))

    assert await state_store.take("n2", NOW + timedelta(seconds=1)) is None
    assert await state_store.take("unknown", NOW) is None


async def test_the_lock_lets_one_holder_in_at_a_time(lock: DistributedLock) -> None:
    inside = 0
    most = 0

    async def work() -> None:
        nonlocal inside, most
        async with lock.hold("realm-9130"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(work() for _ in range(6)))

    assert most == 1


async def test_the_rate_limiter_caps_concurrency_and_starts_per_second(
    limiter: RateLimiter,
) -> None:
    limit = RateLimit(per_minute=1000, per_second=5, concurrent=2)
    starts: list[float] = []
    inside = 0
    most = 0

    async def call() -> None:
        nonlocal inside, most
        async with limiter.slot("realm-1", limit):
            starts.append(time.monotonic())
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    await asyncio.gather(*(call() for _ in range(12)))

    assert most <= 2
    assert len(starts) == 12
    # No window shorter than a second holds more than 5 starts (a little slack for clock reads).
    for i, first in enumerate(starts):
        assert len([s for s in starts[i:] if s - first < 0.95]) <= 5


async def test_a_second_of_starts_never_lands_in_one_second_with_the_next(
    limiter: RateLimiter,
) -> None:
    """Starts are counted over 1.2 s: a vendor counting arrivals some milliseconds later sees
    at most ``per_second`` calls in any one-second window (a 1 s window fails here: a second
    burst starts right at its edge)."""
    limit = RateLimit(per_minute=1000, per_second=5, concurrent=50)
    starts: list[float] = []

    async def call() -> None:
        async with limiter.slot("realm-2", limit):
            starts.append(time.monotonic())

    await asyncio.gather(*(call() for _ in range(15)))

    assert len(starts) == 15
    for first in starts:  # 100 ms of slack for clock reads and the database round trip
        assert len([s for s in starts if first <= s < first + 1.1]) <= 5


async def test_rate_limits_are_per_key(limiter: RateLimiter) -> None:
    limit = RateLimit(per_minute=1, per_second=1, concurrent=1)
    async with limiter.slot("realm-a", limit), limiter.slot("realm-b", limit):
        pass  # both keys got their one slot without waiting on each other


@pytest.mark.integration
async def test_a_change_racing_a_users_removal_never_brings_the_connection_back(
    pg_engine: AsyncEngine,
) -> None:
    """A refresh refused (mark_broken) while the user's uninstall deletes the connection: once
    the deletion commits, the change finds nothing, and writes nothing back."""
    store = PostgresTokenStore(build_session_factory(pg_engine), SecretBox("k" * 40))
    await store.save(pipedrive("7"))
    async with pg_engine.connect() as deleting:
        transaction = await deleting.begin()
        await deleting.execute(  # what delete_user does first: the company's rows locked
            text("SELECT user_id FROM connections WHERE company_id = '1001' FOR UPDATE")
        )
        change = asyncio.create_task(
            store.mark_broken("1001", Vendor.PIPEDRIVE, "refused", NOW, user_id="7")
        )
        await asyncio.sleep(0.3)  # the change has started and waits
        await deleting.execute(text("DELETE FROM connections WHERE company_id = '1001'"))
        await transaction.commit()

    assert await change is None
    assert await store.load("1001", Vendor.PIPEDRIVE) is None
