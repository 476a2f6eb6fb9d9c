"""Shared fixtures: a real Postgres (migrated once per session) and clean tables per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres import migrate
from adapters.postgres.engine import build_engine
from emulators.pipedrive import conformance
from entrypoints.log_config import configure_logging
from tests.support.postgres import DatabaseFactory, postgres_server, run_blocking

configure_logging("WARNING", "json", cache=False)

# Every Pipedrive emulator started by any test validates each JSON response it serves against
# Pipedrive's OpenAPI files; a test that made it serve a non-conforming response fails.
os.environ.setdefault(conformance.VALIDATE_ENV, "1")


@pytest.fixture(autouse=True)
def _pipedrive_responses_conform() -> Iterator[None]:
    conformance.VIOLATIONS.clear()
    yield
    found = list(conformance.VIOLATIONS)
    conformance.VIOLATIONS.clear()
    assert not found, "the Pipedrive emulator served responses its OpenAPI spec forbids:\n" + (
        "\n".join(found[:5])
    )


@pytest.fixture(scope="session")
def database_factory() -> Iterator[DatabaseFactory]:
    with postgres_server() as server_url:
        factory = DatabaseFactory(server_url)
        try:
            yield factory
        finally:
            factory.drop_all()


async def _upgrade(url: str) -> None:
    engine = build_engine(url, pool_size=1)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def database_url(database_factory: DatabaseFactory) -> str:
    """A migrated database shared by the session; tests get it with empty tables."""
    url = database_factory.create("test")
    run_blocking(lambda: _upgrade(url))
    return url


@pytest.fixture
async def pg_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = build_engine(database_url, pool_size=5)
    async with engine.begin() as conn:
        tables = (
            (
                await conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename <> 'alembic_version'"
                    )
                )
            )
            .scalars()
            .all()
        )
        if tables:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
    try:
        yield engine
    finally:
        await engine.dispose()
