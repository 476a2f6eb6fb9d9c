"""Postgres TokenStore and OAuthStateStore: short transactions of their own, tokens sealed."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from adapters.postgres.crypto import SecretBox
from adapters.postgres.tables import ConnectionRow, OAuthStateRow
from application.ports.connections import OAuthState
from domain.connection import Connection, ConnectionStatus, OAuthTokens, Vendor


def connection_to_row(connection: Connection, box: SecretBox, *, version: int) -> ConnectionRow:
    t = connection.tokens
    return ConnectionRow(
        company_id=connection.company_id,
        vendor=connection.vendor.value,
        external_id=connection.external_id,
        sealed_tokens=box.seal({"access": t.access_token, "refresh": t.refresh_token}),
        access_expires_at=t.access_expires_at,
        refresh_expires_at=t.refresh_expires_at,
        status=connection.status.value,
        display_name=connection.display_name,
        environment=connection.environment,
        api_domain=connection.api_domain,
        connected_by=connection.connected_by,
        connected_at=connection.connected_at,
        updated_at=connection.updated_at,
        failure_reason=connection.failure_reason,
        version=version,
    )


def connection_from_row(row: ConnectionRow, box: SecretBox) -> Connection:
    secrets = box.open(row.sealed_tokens)
    return Connection(
        company_id=row.company_id,
        vendor=Vendor(row.vendor),
        external_id=row.external_id,
        tokens=OAuthTokens(
            access_token=secrets["access"],
            refresh_token=secrets["refresh"],
            access_expires_at=row.access_expires_at,
            refresh_expires_at=row.refresh_expires_at,
        ),
        status=ConnectionStatus(row.status),
        display_name=row.display_name,
        environment=row.environment,
        api_domain=row.api_domain,
        connected_by=row.connected_by,
        connected_at=row.connected_at,
        updated_at=row.updated_at,
        failure_reason=row.failure_reason,
        version=row.version,
    )


class PostgresTokenStore:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        self._sessions = session_factory
        self._box = box

    async def _one(self, session: AsyncSession, *where: object) -> ConnectionRow | None:
        result = await session.execute(select(ConnectionRow).where(*where))  # type: ignore[arg-type]
        return result.scalars().one_or_none()

    async def load(self, company_id: str, vendor: Vendor) -> Connection | None:
        async with self._sessions() as session:
            row = await self._one(
                session,
                col(ConnectionRow.company_id) == company_id,
                col(ConnectionRow.vendor) == vendor.value,
            )
            return connection_from_row(row, self._box) if row else None

    async def load_by_external_id(self, vendor: Vendor, external_id: str) -> Connection | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(ConnectionRow)
                .where(
                    col(ConnectionRow.vendor) == vendor.value,
                    col(ConnectionRow.external_id) == external_id,
                )
                .order_by(col(ConnectionRow.updated_at).desc())
                .limit(1)
            )
            row = result.scalars().one_or_none()
            return connection_from_row(row, self._box) if row else None

    async def connected_companies(self, vendor: Vendor) -> list[str]:
        async with self._sessions() as session:
            result = await session.execute(
                select(ConnectionRow.company_id).where(  # type: ignore[call-overload]
                    col(ConnectionRow.vendor) == vendor.value,
                    col(ConnectionRow.status) == ConnectionStatus.CONNECTED.value,
                )
            )
            return sorted(str(c) for c in result.scalars().all())

    async def save(self, connection: Connection) -> Connection:
        async with self._sessions() as session, session.begin():
            current = await self._one(
                session,
                col(ConnectionRow.company_id) == connection.company_id,
                col(ConnectionRow.vendor) == connection.vendor.value,
            )
            version = (current.version if current else 0) + 1
            row = connection_to_row(connection, self._box, version=version)
            values = row.model_dump()
            stmt = insert(ConnectionRow).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["company_id", "vendor"],
                set_={k: v for k, v in values.items() if k not in ("company_id", "vendor")},
            )
            await session.execute(stmt)
        return dataclasses.replace(connection, version=version)

    async def store_tokens(
        self, company_id: str, vendor: Vendor, tokens: OAuthTokens, now: datetime
    ) -> Connection:
        async with self._sessions() as session, session.begin():
            row = await self._one(
                session,
                col(ConnectionRow.company_id) == company_id,
                col(ConnectionRow.vendor) == vendor.value,
            )
            if row is None:
                raise LookupError(f"no {vendor.value} connection for company {company_id}")
            row.sealed_tokens = self._box.seal(
                {"access": tokens.access_token, "refresh": tokens.refresh_token}
            )
            row.access_expires_at = tokens.access_expires_at
            row.refresh_expires_at = tokens.refresh_expires_at
            row.status = ConnectionStatus.CONNECTED.value
            row.failure_reason = ""
            row.updated_at = now
            row.version += 1
            session.add(row)
            await session.flush()
            return connection_from_row(row, self._box)

    async def mark_broken(
        self, company_id: str, vendor: Vendor, reason: str, now: datetime
    ) -> Connection | None:
        async with self._sessions() as session, session.begin():
            row = await self._one(
                session,
                col(ConnectionRow.company_id) == company_id,
                col(ConnectionRow.vendor) == vendor.value,
            )
            if row is None:
                return None
            row.status = ConnectionStatus.NEEDS_RECONNECT.value
            row.failure_reason = reason[:500]
            row.updated_at = now
            row.version += 1
            session.add(row)
            await session.flush()
            return connection_from_row(row, self._box)

    async def delete(self, company_id: str, vendor: Vendor) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(ConnectionRow).where(
                    col(ConnectionRow.company_id) == company_id,
                    col(ConnectionRow.vendor) == vendor.value,
                )
            )


class PostgresOAuthStateStore:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def put(self, state: OAuthState) -> None:
        async with self._sessions() as session, session.begin():
            session.add(
                OAuthStateRow(
                    nonce=state.nonce,
                    company_id=state.company_id,
                    user_id=state.user_id,
                    vendor=state.vendor.value,
                    expires_at=state.expires_at,
                    return_to=state.return_to,
                    extra=dict(state.extra),
                )
            )

    async def take(self, nonce: str, now: datetime) -> OAuthState | None:
        async with self._sessions() as session, session.begin():
            # DELETE ... RETURNING makes "single use" hold even for two concurrent callbacks.
            result = await session.execute(
                delete(OAuthStateRow)
                .where(col(OAuthStateRow.nonce) == nonce)
                .returning(OAuthStateRow)  # type: ignore[arg-type]
            )
            row = result.scalars().one_or_none()
            await session.execute(delete(OAuthStateRow).where(col(OAuthStateRow.expires_at) < now))
        if row is None or row.expires_at <= now:
            return None
        return OAuthState(
            nonce=row.nonce,
            company_id=row.company_id,
            user_id=row.user_id,
            vendor=Vendor(row.vendor),
            expires_at=row.expires_at,
            return_to=row.return_to,
            extra={str(k): str(v) for k, v in row.extra.items()},
        )
