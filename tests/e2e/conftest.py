"""The real composition root on ports 0 with a real Postgres; clients through generated stubs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import pytest

from adapters.in_memory.accounting import InMemoryAccountingGateway
from adapters.in_memory.crm import InMemoryCrmGateway
from entrypoints.demo import DemoStack
from entrypoints.service import Service
from entrypoints.settings import AppSettings, parse_api_tokens
from tests.support.demo import demo_stack
from tests.unit.application.invoicing_world import a_deal

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
        # The periodic catch-up at minutes 0 and 59 only: a test that shows what CDC repairs
        # must not race the 5-minute tick (it once repaired a "lost" payment before the test
        # asked it to). Tests that need a catch-up run it themselves.
        cdc_interval_minutes=59,
    )


@pytest.fixture
def fakes() -> dict[str, object]:
    """The vendor gateways, as in-memory fakes (the emulator-backed journey replaces them)."""
    accounting = InMemoryAccountingGateway()
    accounting.connect("1001")
    accounting.connect("2002")
    crm = InMemoryCrmGateway()
    crm.add_deal("1001", a_deal())
    crm.add_deal("2002", a_deal())
    return {"accounting": accounting, "crm": crm}


@pytest.fixture
async def service(
    app_settings: AppSettings, pg_engine: object, fakes: dict[str, object]
) -> AsyncIterator[Service]:
    svc = Service(app_settings, grpc_port=0, http_port=0, overrides=fakes)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


@pytest.fixture
async def demo(app_settings: AppSettings, pg_engine: object) -> AsyncIterator[DemoStack]:
    """Both emulators, the service connected to them and the demo host page, on free ports."""
    async with demo_stack(app_settings) as stack:
        yield stack


@pytest.fixture
async def channel(service: Service) -> AsyncIterator[grpc.aio.Channel]:
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as ch:
        yield ch


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)
