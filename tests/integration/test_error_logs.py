"""An unexpected error's log line (the gRPC interceptor's ``rpc.failed``, the worker's failed
job) holds where it happened, never the values it was handling: no frame's local variables (a
caller's bearer token, a request's customer) and no value a failed SQL statement bound."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.logs import logs_into

SECRET = "Bearer zq-secret-token-7731"
CUSTOMER = "zq-customer@privacy.example"


@pytest.fixture
def json_logs(tmp_path: Path) -> Iterator[Path]:
    with logs_into(tmp_path / "service.log", "INFO") as path:
        yield path


def _failing_handler(authorization: str, email: str) -> None:
    raise RuntimeError("the handler failed")


def _logged(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_logged_traceback_has_its_frames_but_not_their_locals(json_logs: Path) -> None:
    try:
        _failing_handler(SECRET, CUSTOMER)
    except RuntimeError:
        structlog.get_logger("test").exception("rpc.failed")

    (line,) = _logged(json_logs)
    frames = line["exception"][0]["frames"]  # type: ignore[index]
    assert [frame["name"] for frame in frames][-1] == "_failing_handler"
    text_of_line = json.dumps(line)
    assert "zq-secret-token" not in text_of_line
    assert CUSTOMER not in text_of_line


async def test_a_failed_statement_logs_without_the_values_it_bound(
    pg_engine: AsyncEngine, json_logs: Path
) -> None:
    async with pg_engine.connect() as conn:
        # Keyed on the email: Postgres' own message then quotes it ("Key (email)=(...)").
        await conn.execute(text("CREATE TEMP TABLE seen (email text PRIMARY KEY)"))
        insert = text("INSERT INTO seen VALUES (:email)")
        await conn.execute(insert, {"email": CUSTOMER})
        try:
            await conn.execute(insert, {"email": CUSTOMER})
        except DBAPIError:
            structlog.get_logger("test").exception("rpc.failed")

    (line,) = _logged(json_logs)
    said = json.dumps(line)
    assert "duplicate key value" in said  # what failed
    assert "INSERT INTO seen" in said  # and where
    assert CUSTOMER not in said
