"""Status sync through jobs: webhooks, CDC catch-up, durable creation, deduplication."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import aiohttp
import grpc
import pytest
from sqlalchemy import text

from dealbooks.v1 import (
    connection_service_pb2,
    connection_service_pb2_grpc,
    customer_pb2,
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
)
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.service import Service
from tests.e2e.test_journey import DEAL, MD, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.e2e
VERIFIER = "dealbooks-demo-verifier"


async def create(channel: grpc.aio.Channel, request_id: str) -> invoice_pb2.Invoice:
    stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
    reply = await stub.CreateInvoice(
        invoice_service_pb2.CreateInvoiceRequest(
            parent=DEAL,
            request_id=request_id,
            invoice=invoice_pb2.Invoice(
                customer=customer_pb2.Customer(display_name=f"Sync {request_id}"),
                currency_code="USD",
                lines=[
                    invoice_pb2.LineItem(
                        name="Services", quantity="2", unit_price="100", item_id="1"
                    )
                ],
            ),
        ),
        metadata=MD,
    )
    return reply.invoice


async def wait_for_state(
    channel: grpc.aio.Channel, name: str, state: int, seconds: float = 20
) -> invoice_pb2.Invoice:
    stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
    deadline = time.monotonic() + seconds
    while True:
        got = (
            await stub.GetInvoice(invoice_service_pb2.GetInvoiceRequest(name=name), metadata=MD)
        ).invoice
        if got.state == state or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.2)


def grpc_address(service: Service) -> str:
    assert service.grpc is not None
    return f"127.0.0.1:{service.grpc.port}"


async def test_a_payment_in_quickbooks_shows_without_a_refresh(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        invoice = await create(channel, "sync-1")
        await emulators.admin(
            "quickbooks",
            "POST",
            f"companies/{US_REALM}/payments",
            invoice_id=invoice.quickbooks_invoice_id,
            amount="50",
        )
        got = await wait_for_state(channel, invoice.name, invoice_pb2.INVOICE_STATE_PARTIALLY_PAID)
    assert got.state == invoice_pb2.INVOICE_STATE_PARTIALLY_PAID
    assert got.totals.amount_paid.amount == "50.00"


async def test_the_realm_id_is_stored_only_encrypted_and_its_webhooks_still_reach_the_company(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    """Intuit's security review: "refresh token and realmId AES-encrypted". The connection,
    the webhook's notices and the jobs that apply them hold the realm sealed or as a keyed
    digest; the payment QuickBooks notifies for the realm still reaches the company."""
    service, emulators = world
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        invoice = await create(channel, "sealed-realm-1")
        await emulators.admin(
            "quickbooks",
            "POST",
            f"companies/{US_REALM}/payments",
            invoice_id=invoice.quickbooks_invoice_id,
            amount="20",
        )
        got = await wait_for_state(channel, invoice.name, invoice_pb2.INVOICE_STATE_PARTIALLY_PAID)
    assert got.state == invoice_pb2.INVOICE_STATE_PARTIALLY_PAID
    assert service.container is not None
    async with service.container.gateways.engine().connect() as conn:
        rows = {
            table: (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            for table in ("connections", "accounting_notices", "procrastinate_jobs")
        }
    assert rows["accounting_notices"]  # the webhook's notice is stored...
    assert any(r.task_name == "apply_quickbooks_changes" for r in rows["procrastinate_jobs"])
    assert US_REALM not in str(rows)  # ...and nothing holds the realm id in clear


async def test_a_replayed_webhook_is_stored_once(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, _ = world
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": US_REALM,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": "424242",
                                "operation": "Update",
                                "lastUpdated": "2026-11-27T10:00:00.000Z",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()
    signature = base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest())
    url = f"http://127.0.0.1:{service.http_port_bound}/webhooks/quickbooks"
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(3):
            async with http.post(
                url, data=body, headers={"intuit-signature": signature.decode()}
            ) as resp:
                statuses.append(resp.status)
        async with http.post(url, data=body, headers={"intuit-signature": "forged"}) as resp:
            forged = resp.status
    assert statuses == [200, 200, 200]
    assert forged == 401
    assert service.container is not None
    async with service.container.gateways.engine().connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT count(*) FROM accounting_notices WHERE entity_id = '424242'")
            )
        ).scalar_one()
    assert stored == 1


async def test_cdc_repairs_a_payment_whose_webhook_was_lost(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.container is not None
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        await emulators.admin("quickbooks", "PUT", "webhooks", enabled=False)
        invoice = await create(channel, "sync-cdc")
        await emulators.admin(
            "quickbooks",
            "POST",
            f"companies/{US_REALM}/payments",
            invoice_id=invoice.quickbooks_invoice_id,
        )
        await asyncio.sleep(1.5)
        before = await wait_for_state(channel, invoice.name, invoice_pb2.INVOICE_STATE_PAID, 0)
        report = await service.container.services.catch_up().execute(DEMO_COMPANY)
        after = await wait_for_state(channel, invoice.name, invoice_pb2.INVOICE_STATE_PAID, 0)
        connection = await connection_service_pb2_grpc.ConnectionServiceStub(channel).GetConnection(
            connection_service_pb2.GetConnectionRequest(
                name=f"companies/{DEMO_COMPANY}/connection"
            ),
            metadata=MD,
        )
    assert before.state == invoice_pb2.INVOICE_STATE_OPEN  # nothing told us yet
    assert report.invoices_changed >= 1
    assert after.state == invoice_pb2.INVOICE_STATE_PAID
    assert connection.connection.quickbooks.HasField("last_sync_time")  # "last synced"


async def test_an_invoice_accepted_during_an_outage_is_finished_by_a_job(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    await emulators.admin(
        "quickbooks",
        "POST",
        "faults",
        body={"method": "POST", "path": "/invoice$", "status": 503, "count": 6},
    )
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        invoice = await create(channel, "sync-outage")
        assert invoice.state == invoice_pb2.INVOICE_STATE_CREATING
        got = await wait_for_state(channel, invoice.name, invoice_pb2.INVOICE_STATE_OPEN, 40)
    assert got.state == invoice_pb2.INVOICE_STATE_OPEN
    state = await emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
    assert [i for i in state["invoices"] if i["Id"] == got.quickbooks_invoice_id]


async def test_when_the_months_reads_run_low_the_catch_up_waits_and_the_connection_says_so(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.container is not None
    budget = service.container.gateways.read_budget()
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        await create(channel, "rationed")  # reads the form's reference data: counted
        used = await budget.used()
        assert used > 0
        budget.quota = used  # the deployment's quota reached (no reserve left)
        cdc_before = await emulators.admin("quickbooks", "GET", "requests")
        report = await service.container.services.catch_up().execute(DEMO_COMPANY)
        cdc_after = await emulators.admin("quickbooks", "GET", "requests")
        connection = await connection_service_pb2_grpc.ConnectionServiceStub(channel).GetConnection(
            connection_service_pb2.GetConnectionRequest(
                name=f"companies/{DEMO_COMPANY}/connection"
            ),
            metadata=MD,
        )
        invoice = await create(channel, "rationed-write")  # writes go on
    url = f"http://127.0.0.1:{service.http_port_bound}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        metrics = await response.text()

    def cdc(requests: dict[str, object]) -> int:
        entries = requests["requests"]
        assert isinstance(entries, list)
        return len([r for r in entries if "/cdc" in r["path"]])

    assert report.companies == 0
    assert cdc(cdc_after) == cdc(cdc_before)  # the optional read waited
    assert connection.connection.quickbooks.reads_rationed
    assert invoice.quickbooks_invoice_id
    assert "dealbooks_quickbooks_reads_rationed 1.0" in metrics
    (month,) = [
        float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("dealbooks_quickbooks_reads_this_month ")
    ]
    assert month >= used
