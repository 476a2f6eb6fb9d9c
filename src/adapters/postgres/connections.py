"""Postgres TokenStore and OAuthStateStore: short transactions of their own, secrets sealed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import case, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.expression import ColumnElement
from sqlmodel import col, select

from adapters.postgres.crypto import SecretBox
from adapters.postgres.tables import CompanyPurgeRow, ConnectionRow, OAuthStateRow
from application.ports.connections import OAuthState, UserRemoval
from application.ports.persistence import CompanyPurge
from domain.connection import Connection, ConnectionStatus, OAuthTokens, Vendor

_SEALED_COLUMNS = {
    "sealed_tokens",
    "access_expires_at",
    "refresh_expires_at",
    "sealed_external_id",
    "external_key",
}
# Which of a company's connections to a vendor its calls use: a usable one, the most recently
# connected (Pipedrive: one per installing user).
_IN_USE_ORDER = (
    case((col(ConnectionRow.status) == ConnectionStatus.CONNECTED, 0), else_=1),
    col(ConnectionRow.connected_at).desc().nulls_last(),
    col(ConnectionRow.user_id).desc(),
)


class PostgresTokenStore:
    """A connection's row holds its fields, but its tokens and its vendor account id (the
    QuickBooks realm id) are sealed; the account id's keyed digest finds it."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        self._sessions = session_factory
        self._box = box

    def _connection(self, row: ConnectionRow) -> Connection:
        secrets = self._box.open(row.sealed_tokens)
        tokens = OAuthTokens(
            access_token=secrets["access"],
            refresh_token=secrets["refresh"],
            access_expires_at=row.access_expires_at,
            refresh_expires_at=row.refresh_expires_at,
        )
        return Connection(
            **row.model_dump(exclude=_SEALED_COLUMNS)
            | {
                "vendor": Vendor(row.vendor),
                "status": ConnectionStatus(row.status),
                "tokens": tokens,
                "external_id": self._box.open(row.sealed_external_id)["id"],
            }
        )

    @staticmethod
    def _of(company_id: str, vendor: Vendor) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        return col(ConnectionRow.company_id) == company_id, col(ConnectionRow.vendor) == vendor

    async def _row(
        self,
        session: AsyncSession,
        company_id: str,
        vendor: Vendor,
        user_id: str,
        *,
        lock: bool = False,
    ) -> ConnectionRow | None:
        query = select(ConnectionRow).where(
            *self._of(company_id, vendor), col(ConnectionRow.user_id) == user_id
        )
        result = await session.execute(query.with_for_update() if lock else query)
        return result.scalars().one_or_none()

    async def _write(
        self, session: AsyncSession, connection: Connection, version: int
    ) -> Connection:
        stored = dataclasses.replace(connection, version=version)
        tokens = stored.tokens
        values = {f.name: getattr(stored, f.name) for f in dataclasses.fields(stored)}
        del values["tokens"], values["external_id"]
        values.update(
            sealed_tokens=self._box.seal(
                {"access": tokens.access_token, "refresh": tokens.refresh_token}
            ),
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
            sealed_external_id=self._box.seal({"id": stored.external_id}),
            external_key=self._box.digest(stored.external_id),
        )
        await session.execute(
            insert(ConnectionRow)
            .values(values)
            .on_conflict_do_update(index_elements=["company_id", "vendor", "user_id"], set_=values)
        )
        return stored

    async def _change(
        self,
        company_id: str,
        vendor: Vendor,
        user_id: str,
        change: Callable[[Connection], Connection],
    ) -> Connection | None:
        async with self._sessions() as session, session.begin():
            # Locked: a change racing the connection's deletion (a refresh or a refusal while
            # the user uninstalls) waits for it and finds nothing, rather than writing the row
            # back, which would leave a company with a user who is gone and no purge.
            row = await self._row(session, company_id, vendor, user_id, lock=True)
            if row is None:
                return None
            return await self._write(session, change(self._connection(row)), row.version + 1)

    async def load(self, company_id: str, vendor: Vendor) -> Connection | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(ConnectionRow)
                .where(*self._of(company_id, vendor))
                .order_by(*_IN_USE_ORDER)
                .limit(1)
            )
            row = result.scalars().one_or_none()
            return self._connection(row) if row else None

    async def load_by_external_id(self, vendor: Vendor, external_id: str) -> Connection | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(ConnectionRow)
                .where(
                    col(ConnectionRow.vendor) == vendor,
                    col(ConnectionRow.external_key) == self._box.digest(external_id),
                )
                .order_by(col(ConnectionRow.updated_at).desc().nulls_last(), *_IN_USE_ORDER)
                .limit(1)
            )
            row = result.scalars().one_or_none()
            return self._connection(row) if row else None

    async def connected_companies(self, vendor: Vendor) -> list[str]:
        async with self._sessions() as session:
            result = await session.execute(
                select(ConnectionRow.company_id)
                .where(
                    col(ConnectionRow.vendor) == vendor,
                    col(ConnectionRow.status) == ConnectionStatus.CONNECTED,
                )
                .distinct()
            )
            return sorted(result.scalars().all())

    async def save(self, connection: Connection) -> Connection:
        async with self._sessions() as session, session.begin():
            current = await self._row(
                session, connection.company_id, connection.vendor, connection.user_id
            )
            return await self._write(session, connection, (current.version if current else 0) + 1)

    async def store_tokens(
        self,
        company_id: str,
        vendor: Vendor,
        tokens: OAuthTokens,
        now: datetime,
        *,
        user_id: str = "",
    ) -> Connection:
        stored = await self._change(
            company_id, vendor, user_id, lambda c: c.with_tokens(tokens, now)
        )
        if stored is None:
            raise LookupError(f"no {vendor.value} connection for company {company_id}")
        return stored

    async def mark_broken(
        self, company_id: str, vendor: Vendor, reason: str, now: datetime, *, user_id: str = ""
    ) -> Connection | None:
        return await self._change(company_id, vendor, user_id, lambda c: c.broken(reason, now))

    async def delete(self, company_id: str, vendor: Vendor) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(ConnectionRow).where(*self._of(company_id, vendor)))

    async def delete_user(
        self,
        company_id: str,
        vendor: Vendor,
        user_id: str,
        *,
        purge_if_last: CompanyPurge | None = None,
    ) -> UserRemoval:
        async with self._sessions() as session, session.begin():
            # Every connection of the company to the vendor locked first: of two users removed
            # at once, the second waits, then counts what the first left.
            await session.execute(
                select(ConnectionRow.user_id)
                .where(*self._of(company_id, vendor))
                .order_by(col(ConnectionRow.user_id))
                .with_for_update()
            )
            removed = (
                (
                    await session.execute(
                        delete(ConnectionRow)
                        .where(*self._of(company_id, vendor), col(ConnectionRow.user_id) == user_id)
                        .returning(ConnectionRow)
                    )
                )
                .scalars()
                .one_or_none()
            )
            remaining = (
                await session.execute(
                    select(func.count())
                    .select_from(ConnectionRow)
                    .where(*self._of(company_id, vendor))
                )
            ).scalar_one()
            purge = None
            if not remaining and purge_if_last is not None:
                purge = await self._record_purge(session, purge_if_last)
        return UserRemoval(self._connection(removed) if removed else None, int(remaining), purge)

    @staticmethod
    async def _record_purge(session: AsyncSession, purge: CompanyPurge) -> CompanyPurge:
        """The purge row written in the caller's transaction; a waiting one is kept."""
        await session.execute(
            insert(CompanyPurgeRow)
            .values(dataclasses.asdict(purge))
            .on_conflict_do_nothing(index_elements=["company_id"])
        )
        waiting = (
            await session.execute(
                select(CompanyPurgeRow).where(col(CompanyPurgeRow.company_id) == purge.company_id)
            )
        ).scalar_one()
        return CompanyPurge(waiting.company_id, waiting.uninstalled_at, waiting.due_at)


class PostgresOAuthStateStore:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def put(self, state: OAuthState) -> None:
        async with self._sessions() as session, session.begin():
            session.add(OAuthStateRow(**dataclasses.asdict(state)))

    async def take(self, nonce: str, now: datetime) -> OAuthState | None:
        async with self._sessions() as session, session.begin():
            # DELETE ... RETURNING makes "single use" hold even for two concurrent callbacks.
            result = await session.execute(
                delete(OAuthStateRow)
                .where(col(OAuthStateRow.nonce) == nonce)
                .returning(OAuthStateRow)
            )
            row = result.scalars().one_or_none()
            await session.execute(delete(OAuthStateRow).where(col(OAuthStateRow.expires_at) < now))
        if row is None or row.expires_at <= now:
            return None
        return OAuthState(**row.model_dump() | {"vendor": Vendor(row.vendor)})
