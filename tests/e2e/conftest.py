"""The real composition root on ports 0 with a real Postgres; clients through generated stubs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import pytest

from entrypoints.bootstrap import Service
from entrypoints.settings import AppSettings, parse_api_tokens

TOKEN_A = "token-for-company-1001-aaaaaaaa"
TOKEN_B = "token-for-company-2002-bbbbbbbb"
OPERATOR = "operator-token-all-companies-ccc"


@pytest.fixture
def app_settings(database_url: str) -> AppSettings:
    return replace(
        AppSettings(),
        database_url=database_url,
        api_tokens=parse_api_tokens(f"{TOKEN_A}=1001;{TOKEN_B}=2002;{OPERATOR}=*"),
        shutdown_grace_seconds=1.0,
    )


@pytest.fixture
async def service(app_settings: AppSettings, pg_engine: object) -> AsyncIterator[Service]:
    svc = Service(app_settings, grpc_port=0, http_port=0)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


@pytest.fixture
async def channel(service: Service) -> AsyncIterator[grpc.aio.Channel]:
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as ch:
        yield ch


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)
