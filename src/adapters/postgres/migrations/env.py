"""Alembic environment: migrations run on a connection handed over by ``adapters.postgres.migrate``.

``alembic`` on the command line works too: it reads DEALBOOKS_DATABASE_URL (and
DEALBOOKS_SECRET_KEY, for the migrations that encrypt stored values).
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
from adapters.postgres.migrate import SECRET_KEY

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
    # On the command line the migrations that encrypt stored values read the key here.
    context.config.attributes.setdefault(SECRET_KEY, os.environ.get("DEALBOOKS_SECRET_KEY"))
    asyncio.run(_run_online())
