"""Alembic environment: migrations run on a connection handed over by ``adapters.postgres.migrate``.

``alembic`` on the command line works too: it reads DEALBOOKS_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import adapters.postgres.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from adapters.postgres.engine import asyncpg_url

target_metadata = SQLModel.metadata


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(asyncpg_url(os.environ["DEALBOOKS_DATABASE_URL"]))
    async with engine.begin() as conn:
        await conn.run_sync(_migrate)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _migrate(connection)
else:
    asyncio.run(_run_online())
