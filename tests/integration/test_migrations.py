"""Alembic stairway: every revision upgrades, downgrades and upgrades again on a real Postgres."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from adapters.postgres import migrate
from adapters.postgres.engine import build_engine
from tests.support.postgres import DatabaseFactory

pytestmark = pytest.mark.integration

REVISIONS = [
    r.revision
    for r in reversed(list(ScriptDirectory.from_config(migrate.alembic_config()).walk_revisions()))
]


def test_revisions_form_a_single_line() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1
    assert REVISIONS[0] == "0001"


async def test_stairway_upgrade_downgrade_upgrade_every_revision(
    database_factory: DatabaseFactory,
) -> None:
    url = database_factory.create("stairway")
    engine = build_engine(url, pool_size=1)
    try:
        previous = "base"
        for revision in REVISIONS:
            await migrate.upgrade(engine, revision)
            await migrate.downgrade(engine, previous)
            await migrate.upgrade(engine, revision)
            previous = revision
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "company_settings" in tables
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
    finally:
        await engine.dispose()
