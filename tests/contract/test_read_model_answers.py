"""The read model's remembered answers on a real Postgres: kept while it listens, forgotten when
any process changes the deal (heard through migration 0007's announcements) or this process
commits a change (at once), and never used while the listening connection is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres import queries as queries_module
from adapters.postgres.engine import build_session_factory
from adapters.postgres.intake import PostgresInvoiceIntake
from adapters.postgres.queries import (
    CHANNEL,
    ChangeListener,
    PostgresInvoiceQueries,
    RememberedAnswers,
    asyncpg_dsn,
)
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.ports.persistence import CreationOptions
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice, InvoiceState
from domain.money import Money
from tests.contract.test_invoice_intake import follow_up_for
from tests.e2e.polling import eventually
from tests.unit.domain.domain_builders import DUE, LATER, a_requested_invoice, an_invoice_in

pytestmark = pytest.mark.integration

COMPANY, DEAL = "company-1", "deal-1"


@pytest.fixture
async def queries(database_url: str) -> AsyncIterator[PostgresInvoiceQueries]:
    queries = PostgresInvoiceQueries(database_url)
    yield queries
    await queries.close()


@pytest.fixture
def uow(pg_engine: AsyncEngine, queries: PostgresInvoiceQueries) -> SqlAlchemyUnitOfWorkFactory:
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(pg_engine), queries.forget_deals)


async def store(
    uow: SqlAlchemyUnitOfWorkFactory, invoice_id: str, state: InvoiceState = InvoiceState.OPEN
) -> Invoice:
    invoice = an_invoice_in(
        state,
        id=InvoiceId(invoice_id),
        company_id=CompanyId(COMPANY),
        deal_id=DealId(DEAL),
    )
    async with uow() as work:
        await work.invoices.add(invoice)
        await work.commit()
    return invoice


async def listening(queries: PostgresInvoiceQueries) -> None:
    await queries.get(COMPANY, "nothing")  # opens the pool, which starts the listener
    await eventually(lambda: _true(queries.answers.listening), bool, seconds=10)
    assert queries.answers.listening


async def _true(value: bool) -> bool:
    return value


async def test_a_second_read_is_answered_from_memory(
    queries: PostgresInvoiceQueries, uow: SqlAlchemyUnitOfWorkFactory
) -> None:
    await store(uow, "inv-1")
    await listening(queries)

    first = await queries.get(COMPANY, "inv-1")
    hits = queries.answers.hits
    again = await queries.get(COMPANY, "inv-1")
    page = await queries.list_for_deal(COMPANY, DEAL, limit=21)
    page_again = await queries.list_for_deal(COMPANY, DEAL, limit=21)

    assert again is first
    assert [i.id for i in page_again] == [i.id for i in page] == ["inv-1"]
    assert queries.answers.hits == hits + 2


def deaf(queries: PostgresInvoiceQueries, monkeypatch: pytest.MonkeyPatch) -> None:
    """Still listening, but hearing nothing: only this process's own forgetting is left."""
    monkeypatch.setattr(queries.answers, "heard", lambda payload: None)


async def test_a_commit_of_this_process_is_read_at_once(
    queries: PostgresInvoiceQueries,
    uow: SqlAlchemyUnitOfWorkFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await store(uow, "inv-1")
    await listening(queries)
    deaf(queries, monkeypatch)
    assert [i.id for i in await queries.list_for_deal(COMPANY, DEAL, limit=21)] == ["inv-1"]
    assert await queries.get(COMPANY, "inv-1") is not None

    await store(uow, "inv-2", InvoiceState.CREATING)
    assert sorted(i.id for i in await queries.list_for_deal(COMPANY, DEAL, limit=21)) == [
        "inv-1",
        "inv-2",
    ]
    async with uow() as work:
        paid = await work.invoices.get_for_update(COMPANY, "inv-1")
        assert paid is not None
        paid.apply_accounting_facts(paid.total(), Money.zero("EUR"), "9", DUE, LATER)
        await work.invoices.save(paid)
        await work.commit()
    got = await queries.get(COMPANY, "inv-1")

    assert got is not None
    assert got.state is InvoiceState.PAID
    assert queries.answers.listening  # answers were kept all along: the test is not vacuous


async def test_the_invoice_intake_forgets_what_it_wrote(
    queries: PostgresInvoiceQueries, pg_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = PostgresInvoiceIntake(pg_engine, queries.forget_deals)
    invoice = a_requested_invoice(
        id=InvoiceId("inv-1"), company_id=CompanyId(COMPANY), deal_id=DealId(DEAL)
    )
    await listening(queries)
    deaf(queries, monkeypatch)
    assert await queries.list_for_deal(COMPANY, DEAL, limit=21) == []

    await intake.store_requested(invoice, actor=None, creation=CreationOptions(), request=None)
    listed = await queries.list_for_deal(COMPANY, DEAL, limit=21)
    assert await queries.get(COMPANY, "inv-1") is not None
    read_version = invoice.version
    invoice.confirm_created("qb-1", "1001", "0", invoice.total(), LATER)
    await intake.record_created(
        invoice, read_version=read_version, actor=None, follow_up=follow_up_for(invoice)
    )
    got = await queries.get(COMPANY, "inv-1")

    assert [i.id for i in listed] == ["inv-1"]
    assert got is not None
    assert got.state is InvoiceState.OPEN


async def test_a_change_made_elsewhere_is_heard(
    queries: PostgresInvoiceQueries, uow: SqlAlchemyUnitOfWorkFactory, database_url: str
) -> None:
    """Another process (here: a bare connection, as psql would be) changes the row, without
    the version bump the service's own writes make."""
    await store(uow, "inv-1")
    await listening(queries)
    before = await queries.get(COMPANY, "inv-1")
    assert before is not None
    assert before.memo == "Thanks for your business"

    other = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await other.execute(
            "UPDATE invoices SET memo = 'Changed elsewhere' WHERE company_id = $1 AND id = $2",
            COMPANY,
            "inv-1",
        )
    finally:
        await other.close()

    after = await eventually(
        lambda: queries.get(COMPANY, "inv-1"),
        lambda i: i is not None and i.memo == "Changed elsewhere",
        seconds=5,
    )
    assert after is not None
    assert after.memo == "Changed elsewhere"


async def test_nothing_is_kept_while_the_listener_is_down(
    queries: PostgresInvoiceQueries,
    uow: SqlAlchemyUnitOfWorkFactory,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await store(uow, "inv-1")
    await listening(queries)
    await queries.get(COMPANY, "inv-1")
    listener = queries._listener
    assert listener is not None
    assert listener.connection is not None
    pid = listener.connection.get_server_pid()

    async def refused(*args: object, **kwargs: object) -> asyncpg.Connection:
        raise OSError("the database is restarting")

    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        # The listener cannot connect again until the end of this block.
        monkeypatch.setattr(queries_module.asyncpg, "connect", refused)
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await eventually(lambda: _true(not queries.answers.listening), bool, seconds=5)
        assert not queries.answers.listening
        # Changes made while nobody listens are seen: every read goes to the database.
        await admin.execute("UPDATE invoices SET memo = 'Unheard' WHERE id = 'inv-1'")
        got = await queries.get(COMPANY, "inv-1")
        again = await queries.get(COMPANY, "inv-1")
        assert got is not None
        assert got.memo == "Unheard"
        assert again is not None
        assert again.memo == "Unheard"
        assert not queries.answers.listening  # still down: those were database reads
        assert queries.answers.get(("get", COMPANY, "inv-1")) is None  # nothing was kept
    finally:
        await admin.close()
        monkeypatch.undo()

    # It listens again by itself, and keeps answers again.
    await eventually(lambda: _true(queries.answers.listening), bool, seconds=10)
    assert queries.answers.listening
    assert listener.connection is not None
    assert listener.connection.get_server_pid() != pid
    await queries.get(COMPANY, "inv-1")
    hits = queries.answers.hits
    await queries.get(COMPANY, "inv-1")
    assert queries.answers.hits == hits + 1


async def test_truncate_forgets_everything(
    queries: PostgresInvoiceQueries, uow: SqlAlchemyUnitOfWorkFactory, database_url: str
) -> None:
    await store(uow, "inv-1")
    await listening(queries)
    assert await queries.get(COMPANY, "inv-1") is not None

    other = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await other.execute("TRUNCATE invoices CASCADE")
    finally:
        await other.close()

    gone = await eventually(lambda: queries.get(COMPANY, "inv-1"), lambda i: i is None, seconds=5)
    assert gone is None


# -- the bookkeeping itself ---------------------------------------------------------------------


def test_an_answer_read_while_its_deal_changed_is_not_kept() -> None:
    answers = RememberedAnswers()
    answers.listening = True
    generation = answers.generation  # a reader starts its query...
    answers.heard(f'["{COMPANY}", "{DEAL}", "inv-1"]')  # ...a change is heard meanwhile
    answers.keep("key", (COMPANY, DEAL), "stale?", generation)
    assert answers.get("key") is None


def test_answers_are_kept_only_while_listening() -> None:
    answers = RememberedAnswers()
    answers.keep("key", (COMPANY, DEAL), "answer", answers.generation)
    assert answers.get("key") is None
    answers.listening = True
    answers.keep("key", (COMPANY, DEAL), "answer", answers.generation)
    assert answers.get("key") == "answer"


def test_a_change_forgets_only_its_deal() -> None:
    answers = RememberedAnswers()
    answers.listening = True
    answers.keep("a", (COMPANY, DEAL), "deal one", answers.generation)
    answers.keep("b", (COMPANY, "deal-2"), "deal two", answers.generation)
    answers.heard(f'["{COMPANY}", "deal-2", "inv-9"]')
    assert answers.get("a") == "deal one"
    assert answers.get("b") is None


def test_an_unreadable_announcement_forgets_everything() -> None:
    answers = RememberedAnswers()
    answers.listening = True
    answers.keep("a", (COMPANY, DEAL), "deal one", answers.generation)
    answers.heard("not json")
    assert answers.get("a") is None


def test_the_least_recently_used_answer_goes_first() -> None:
    answers = RememberedAnswers(size=2)
    answers.listening = True
    for key in ("a", "b"):
        answers.keep(key, (COMPANY, key), Decimal(1), answers.generation)
    assert answers.get("a") is not None  # "b" is now the least recently used
    answers.keep("c", (COMPANY, "c"), Decimal(1), answers.generation)
    assert answers.get("b") is None
    assert answers.get("a") is not None
    assert answers.get("c") is not None
    answers.forget_deals([(COMPANY, "b")])  # its deal's index went with it: nothing to trip on
    assert answers.get("a") is not None
    assert answers.get("c") is not None
    assert (COMPANY, "b") not in answers._by_deal


async def test_turned_off_it_keeps_nothing(database_url: str) -> None:
    queries = PostgresInvoiceQueries(database_url, remember_answers=False)
    try:
        await queries.get(COMPANY, "nothing")
        await queries.list_for_deal(COMPANY, DEAL, limit=21)
        await queries.list_for_deal(COMPANY, DEAL, limit=21)
        assert not queries.answers.listening
        assert queries.answers.hits == 0
    finally:
        await queries.close()


async def test_a_listener_that_cannot_hear_itself_keeps_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As behind a pooler that accepts LISTEN but never delivers: its own NOTIFY never comes
    back, so it never starts keeping answers."""
    queries = PostgresInvoiceQueries(database_url)
    assert queries._listener is not None
    monkeypatch.setattr(queries._listener, "_ping_seconds", 0.2)
    monkeypatch.setattr(queries._listener, "_echo", "ping:never-sent-back")
    monkeypatch.setattr(queries._listener, "_hears_itself", _deaf_ping(queries._listener))
    try:
        await queries.get(COMPANY, "nothing")
        await asyncio.sleep(1.0)  # several attempts to listen, each failing its check
        assert not queries.answers.listening
        assert not queries._listener.listened
    finally:
        await queries.close()


def _deaf_ping(listener: ChangeListener) -> Callable[[asyncpg.Connection], Awaitable[None]]:
    async def hears_itself(connection: asyncpg.Connection) -> None:
        # Sends a NOTIFY nobody answers to (another payload), as a broken path would lose it.
        await connection.execute("SELECT pg_notify($1, 'ping:someone-else')", CHANNEL)
        async with asyncio.timeout(0.2):
            await listener._echoed.wait()

    return hears_itself


async def test_stopping_ends_the_listener_even_if_a_cancellation_is_lost(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.11's asyncio can lose a cancellation that arrives as an awaited event fires
    (it happened in CI: a test's teardown waited for the listener for good)."""
    queries = PostgresInvoiceQueries(database_url)
    listener = queries._listener
    assert listener is not None
    swallowed = 0

    async def listen_swallowing_the_first_cancel() -> None:
        nonlocal swallowed
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed += 1  # as the lost cancellation did: carry on as if nothing happened

    monkeypatch.setattr(listener, "_listen", listen_swallowing_the_first_cancel)
    await queries.get(COMPANY, "nothing")  # starts it
    await asyncio.sleep(0)
    closing = asyncio.ensure_future(queries.close())
    done, _ = await asyncio.wait({closing}, timeout=30)  # a guard, not a timing claim
    if not done:
        closing.cancel()

    assert closing in done  # it ended, though its first cancellation was lost
    assert swallowed == 1
