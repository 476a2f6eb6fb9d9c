"""Postgres TokenStore and OAuthStateStore: short transactions of their own, tokens sealed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from adapters.postgres.crypto import SecretBox
from adapters.postgres.tables import ConnectionRow, OAuthStateRow
from application.ports.connections import OAuthState
from domain.connection import Connection, ConnectionStatus, OAuthTokens, Vendor

_TOKEN_COLUMNS = {"sealed_tokens", "access_expires_at", "refresh_expires_at"}


class PostgresTokenStore:
    """A connection's row holds its fields, but its tokens are sealed in one column."""

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
            **row.model_dump(exclude=_TOKEN_COLUMNS)
            | {
                "vendor": Vendor(row.vendor),
                "status": ConnectionStatus(row.status),
                "tokens": tokens,
            }
        )

    @staticmethod
    async def _row(session: AsyncSession, company_id: str, vendor: Vendor) -> ConnectionRow | None:
        result = await session.execute(
            select(ConnectionRow).where(
                col(ConnectionRow.company_id) == company_id, col(ConnectionRow.vendor) == vendor
            )
        )
        return result.scalars().one_or_none()

    async def _write(
        self, session: AsyncSession, connection: Connection, version: int
    ) -> Connection:
        stored = dataclasses.replace(connection, version=version)
        tokens = stored.tokens
        values = {f.name: getattr(stored, f.name) for f in dataclasses.fields(stored)}
        del values["tokens"]
        values.update(
            sealed_tokens=self._box.seal(
                {"access": tokens.access_token, "refresh": tokens.refresh_token}
            ),
            access_expires_at=tokens.access_expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        )
        await session.execute(
            insert(ConnectionRow)
            .values(values)
            .on_conflict_do_update(index_elements=["company_id", "vendor"], set_=values)
        )
        return stored

    async def _change(
        self, company_id: str, vendor: Vendor, change: Callable[[Connection], Connection]
    ) -> Connection | None:
        async with self._sessions() as session, session.begin():
            row = await self._row(session, company_id, vendor)
            if row is None:
                return None
            return await self._write(session, change(self._connection(row)), row.version + 1)

    async def load(self, company_id: str, vendor: Vendor) -> Connection | None:
        async with self._sessions() as session:
            row = await self._row(session, company_id, vendor)
            return self._connection(row) if row else None

    async def load_by_external_id(self, vendor: Vendor, external_id: str) -> Connection | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(ConnectionRow)
                .where(
                    col(ConnectionRow.vendor) == vendor,
                    col(ConnectionRow.external_id) == external_id,
                )
                .order_by(col(ConnectionRow.updated_at).desc())
                .limit(1)
            )
            row = result.scalars().one_or_none()
            return self._connection(row) if row else None

    async def connected_companies(self, vendor: Vendor) -> list[str]:
        async with self._sessions() as session:
            result = await session.execute(
                select(ConnectionRow.company_id).where(
                    col(ConnectionRow.vendor) == vendor,
                    col(ConnectionRow.status) == ConnectionStatus.CONNECTED,
                )
            )
            return sorted(result.scalars().all())

    async def save(self, connection: Connection) -> Connection:
        async with self._sessions() as session, session.begin():
            current = await self._row(session, connection.company_id, connection.vendor)
            return await self._write(session, connection, (current.version if current else 0) + 1)

    async def store_tokens(
        self, company_id: str, vendor: Vendor, tokens: OAuthTokens, now: datetime
    ) -> Connection:
        stored = await self._change(company_id, vendor, lambda c: c.with_tokens(tokens, now))
        if stored is None:
            raise LookupError(f"no {vendor.value} connection for company {company_id}")
        return stored

    async def mark_broken(
        self, company_id: str, vendor: Vendor, reason: str, now: datetime
    ) -> Connection | None:
        return await self._change(company_id, vendor, lambda c: c.broken(reason, now))

    async def delete(self, company_id: str, vendor: Vendor) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(ConnectionRow).where(
                    col(ConnectionRow.company_id) == company_id,
                    col(ConnectionRow.vendor) == vendor,
                )
            )


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
