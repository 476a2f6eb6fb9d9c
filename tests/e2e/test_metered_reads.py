"""The composition root wires the metered-reads counter: a QuickBooks read made through the
gRPC API shows on /metrics by kind, as many as the QuickBooks emulator's meter billed."""

from __future__ import annotations

import re

import aiohttp
import grpc
import pytest

from dealbooks.v1 import settings_service_pb2, settings_service_pb2_grpc
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY, US_REALM
from tests.e2e.conftest import OPERATOR, bearer

pytestmark = pytest.mark.e2e
SAMPLE = re.compile(r'^dealbooks_quickbooks_metered_reads_total\{kind="([^"]+)"\} (\S+)$', re.M)


async def test_metered_reads_show_on_metrics_by_kind_as_the_emulator_bills_them(
    demo: DemoStack,
) -> None:
    service = demo.service
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        await settings.ListInvoiceOptions(
            settings_service_pb2.ListInvoiceOptionsRequest(parent=f"companies/{DEMO_COMPANY}"),
            metadata=bearer(OPERATOR),
        )
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{service.http_port_bound}/metrics") as response,
    ):
        text = await response.text()
    counted = {kind: float(value) for kind, value in SAMPLE.findall(text)}
    report = await demo.emulators.admin("quickbooks", "GET", f"meter?realm={US_REALM}")
    (realm,) = report["apps"][0]["realms"]
    billed = {k: float(v["calls"]) for k, v in realm["kinds"].items() if v["tier"] == "coreplus"}
    assert counted["read:Preferences"] >= 1
    assert counted["query:Item"] >= 1
    assert counted == billed
