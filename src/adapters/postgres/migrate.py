"""Run the Alembic migrations programmatically, inside the caller's event loop.

An advisory lock makes concurrent starts (several replicas, workers) migrate one at a time.
``secret_key`` (DEALBOOKS_SECRET_KEY) is for the migrations that encrypt stored values; a
database with values to encrypt refuses to migrate without it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x6465616C  # "deal"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


#: Where a migration finds the secret key: ``context.config.attributes[SECRET_KEY]``.
SECRET_KEY = "secret_key"


def _run(
    connection: Connection,
    step: Callable[[Config, str], None],
    revision: str,
    secret_key: str | None,
) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    cfg.attributes[SECRET_KEY] = secret_key
    step(cfg, revision)


async def upgrade(
    engine: AsyncEngine, revision: str = "head", *, secret_key: str | None = None
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, command.upgrade, revision, secret_key)


async def downgrade(engine: AsyncEngine, revision: str, *, secret_key: str | None = None) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_run, command.downgrade, revision, secret_key)
