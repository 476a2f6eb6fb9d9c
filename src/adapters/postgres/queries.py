"""The invoice read model on Postgres: one statement per answer, sent straight through asyncpg.

GetInvoice and ListInvoices only read, so they skip the ORM session, its transaction and even
SQLAlchemy's pool: a small asyncpg pool of its own runs one prepared statement per answer (no
BEGIN/ROLLBACK round trips, no reset query when a connection goes back: nothing here changes
session state), and the rows become domain invoices through ``mappers``. Every statement is
scoped by ``company_id``.

Turning a row into an invoice (its JSON customer and lines, money, dates) costs more than the
query itself for a page of 20, so each mapped invoice is remembered under the row's identity
and the row version's ``xmin`` (the transaction that wrote it; any UPDATE, by the service or by
hand, writes a new row version). A row read with the same key holds the same facts, so the
same invoice object answers for it. Callers only read what this returns (the port says
nothing read here is ever saved).

Answers are also kept whole (``RememberedAnswers``) while the process hears every change to
the invoices table: migration 0007 announces each one on a channel this listens on with a
connection of its own, and the writes of this process forget their deals' answers as they
commit (so a caller reads its own write at once, not a notification later; another process's
write is heard milliseconds after its commit). An answer is kept
only if no change was heard while it was read; while the listening connection is down nothing
is kept and every read goes to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import asyncpg
import structlog

from adapters.postgres.errors import UNREACHABLE, database_unavailable
from adapters.postgres.mappers import invoice_from_record
from application.ports.persistence import PageCursor
from domain.invoice import Invoice

_COLUMNS = (
    "id, company_id, deal_id, state, customer::text AS customer, lines::text AS lines, "
    "currency, issue_date, due_date, memo, amount_paid, quickbooks_id, doc_number, sync_token, "
    "quickbooks_total, failure_reason, created_at, updated_at, last_synced_at, last_sent_at, "
    "overdue_recorded_for, created_by, version, xmin::text AS row_version"
)
_GET = f"SELECT {_COLUMNS} FROM invoices WHERE company_id = $1 AND id = $2"  # noqa: S608
_NEWEST = "ORDER BY created_at DESC, id DESC LIMIT $3"
_LIST = f"SELECT {_COLUMNS} FROM invoices WHERE company_id = $1 AND deal_id = $2 {_NEWEST}"  # noqa: S608
_LIST_AFTER = (
    f"SELECT {_COLUMNS} FROM invoices WHERE company_id = $1 AND deal_id = $2 "  # noqa: S608
    f"AND (created_at, id) < ($4, $5) {_NEWEST}"
)
CHANNEL = "dealbooks_invoices"  # see migration 0007
_PING = "ping:"  # a listener's own NOTIFY, never an invoice change
log = structlog.get_logger("dealbooks.read_model")


def asyncpg_dsn(url: str) -> str:
    """A Postgres URL as asyncpg takes it (without SQLAlchemy's driver suffix)."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset: these statements leave no session state (asyncpg still rolls back a
    transaction left open, which never happens here)."""


class MappedInvoices:
    """Invoices already mapped from rows, by row identity and version; least recently used
    out first."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._invoices: OrderedDict[tuple[Any, ...], Invoice] = OrderedDict()

    def __call__(self, record: Mapping[str, Any]) -> Invoice:
        key = (record["company_id"], record["id"], record["row_version"])
        invoice = self._invoices.get(key)
        if invoice is None:
            invoice = self._invoices[key] = invoice_from_record(record)
            if len(self._invoices) > self._size:
                self._invoices.popitem(last=False)
        else:
            self._invoices.move_to_end(key)
        return invoice


DealKey = tuple[str, str]  # (company_id, deal_id)


class RememberedAnswers:
    """Read-model answers kept whole, by query, each filed under its deal; least recently used
    out first. Only while ``listening``: a change that could not be heard would leave an answer
    stale for good.

    Every forgetting bumps ``generation``. A reader notes it before its query and keeps the
    answer only if it has not moved since: a change committed while the query ran (whose rows
    the query may or may not have seen) is heard before or after the answer is kept, and either
    way the answer is not used."""

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._answers: OrderedDict[Hashable, tuple[DealKey, Any]] = OrderedDict()
        self._by_deal: dict[DealKey, set[Hashable]] = {}
        self.generation = 0
        self.listening = False
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        found = self._answers.get(key)
        if found is None:
            self.misses += 1
            return None
        self._answers.move_to_end(key)
        self.hits += 1
        return found[1]

    def keep(self, key: Hashable, deal: DealKey, answer: Any, generation: int) -> None:
        if not self.listening or generation != self.generation:
            return
        previous = self._answers.get(key)
        if previous is not None and previous[0] != deal:
            self._drop_from_deal(previous[0], key)
        self._answers[key] = (deal, answer)
        self._answers.move_to_end(key)
        self._by_deal.setdefault(deal, set()).add(key)
        if len(self._answers) > self._size:
            old_key, (old_deal, _) = self._answers.popitem(last=False)
            self._drop_from_deal(old_deal, old_key)

    def _drop_from_deal(self, deal: DealKey, key: Hashable) -> None:
        keys = self._by_deal.get(deal)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_deal[deal]

    def forget_deals(self, deals: Iterable[DealKey]) -> None:
        self.generation += 1
        for deal in deals:
            for key in self._by_deal.pop(deal, ()):
                self._answers.pop(key, None)

    def forget_all(self) -> None:
        self.generation += 1
        self._answers.clear()
        self._by_deal.clear()

    def heard(self, payload: str) -> None:
        """One announcement of migration 0007: ``[company, deal, invoice]``, or ``[]`` for all."""
        try:
            change = json.loads(payload)
            deal = (str(change[0]), str(change[1])) if change else None
        except (ValueError, TypeError, IndexError, KeyError):
            deal = None  # not ours to parse: forgetting everything is always safe
        if deal is None:
            self.forget_all()
        else:
            self.forget_deals((deal,))


class ChangeListener:
    """Keeps one connection listening on the invoices channel and ``answers.listening`` true
    exactly while it is known to hear: a NOTIFY of its own must come back before answers are
    kept, and again every ``ping_seconds`` (a pooler that cannot hold a LISTEN, or a connection
    that died silently, fails that). A lost connection turns keeping off and forgets
    everything; it listens again with backoff."""

    def __init__(self, dsn: str, answers: RememberedAnswers, *, ping_seconds: float = 15.0) -> None:
        self._dsn = dsn
        self._answers = answers
        self._ping_seconds = ping_seconds
        self._task: asyncio.Task[None] | None = None
        self._echo = f"{_PING}{uuid.uuid4()}"
        self._echoed = asyncio.Event()
        self.listened = False  # whether the current or last connection got to listen
        self._stopping = False
        self.connection: asyncpg.Connection | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="read-model-listener")

    async def stop(self) -> None:
        """End the listening task. Cancelled until it ends: Python 3.11's asyncio can lose a
        cancellation that arrives just as an awaited event fires, and the loop checks
        ``_stopping`` too, so a lost one does not keep it running."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()

    def _on_notification(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload.startswith(_PING):  # a listener's check that it hears (ours or another's)
            if payload == self._echo:
                self._echoed.set()
            return
        self._answers.heard(payload)

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: stop keeping, listen again
                log.warning("read_model.listener_lost", error=type(exc).__name__)
            if self.listened:
                backoff = 0.5  # it did listen: start over from the shortest wait
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)

    async def _hears_itself(self, connection: asyncpg.Connection) -> None:
        """NOTIFY on the channel and wait to hear it back (raises TimeoutError if not)."""
        self._echoed.clear()
        async with asyncio.timeout(self._ping_seconds):
            await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, self._echo)
            await self._echoed.wait()

    async def _listen(self) -> None:
        """Listen on one connection until it is lost; keep answers only meanwhile."""
        lost = asyncio.Event()
        self.listened = False
        try:
            self.connection = connection = await asyncpg.connect(self._dsn, timeout=10)
            connection.add_termination_listener(lambda _conn: lost.set())
            await connection.add_listener(CHANNEL, self._on_notification)
            await self._hears_itself(connection)
            self._answers.forget_all()  # whatever changed before we listened is unheard
            self._answers.listening = self.listened = True
            while not lost.is_set() and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._ping_seconds):
                        await lost.wait()
                if not lost.is_set() and not self._stopping:
                    await self._hears_itself(connection)
            if lost.is_set():
                log.warning("read_model.listener_lost", error="ConnectionLost")
        finally:
            self._answers.listening = False
            self._answers.forget_all()
            if self.connection is not None:
                connection, self.connection = self.connection, None
                with contextlib.suppress(Exception):
                    await asyncio.shield(connection.close(timeout=2))


class PostgresInvoiceQueries:
    def __init__(
        self, database_url: str, *, max_size: int = 10, remember_answers: bool = True
    ) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._mapped = MappedInvoices()
        self.answers = RememberedAnswers()
        self._listener = ChangeListener(self._dsn, self.answers) if remember_answers else None

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._max_size,
                        reset=_keep_session,
                        max_inactive_connection_lifetime=300,
                        command_timeout=30,
                    )
                    if self._listener is not None:
                        self._listener.start()
        return self._pool

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                async with asyncio.timeout(10):  # a connection never given back: stop waiting
                    await pool.close()
            except TimeoutError:
                pool.terminate()

    def forget_deals(self, deals: Iterable[DealKey]) -> None:
        """What a unit of work of this process calls as it commits changes to these deals."""
        self.answers.forget_deals(deals)

    async def get(self, company_id: str, invoice_id: str) -> Invoice | None:
        key = ("get", company_id, invoice_id)
        answers = self.answers
        kept: Invoice | None = answers.get(key)
        if kept is not None:
            return kept
        generation = answers.generation
        # The pool's own fetch (it acquires and releases): no context manager of ours, which
        # costs a measurable share of the cheapest read there is.
        try:
            pool = await self._connections()
            record = await pool.fetchrow(_GET, company_id, invoice_id)
        except UNREACHABLE as exc:
            raise database_unavailable() from exc
        if record is None:
            return None  # not kept: a caller asking for ids at random would fill the memory
        invoice = self._mapped(record)
        answers.keep(key, (company_id, invoice.deal_id), invoice, generation)
        return invoice

    async def list_for_deal(
        self, company_id: str, deal_id: str, *, limit: int, after: PageCursor | None = None
    ) -> list[Invoice]:
        key = ("list", company_id, deal_id, limit, after)
        answers = self.answers
        kept: tuple[Invoice, ...] | None = answers.get(key)
        if kept is not None:
            return list(kept)
        generation = answers.generation
        try:
            pool = await self._connections()
            if after is None:
                records = await pool.fetch(_LIST, company_id, deal_id, limit)
            else:
                records = await pool.fetch(
                    _LIST_AFTER, company_id, deal_id, limit, after.created_at, after.id
                )
        except UNREACHABLE as exc:
            raise database_unavailable() from exc
        invoices = [self._mapped(record) for record in records]
        answers.keep(key, (company_id, deal_id), tuple(invoices), generation)
        return invoices
