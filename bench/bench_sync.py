"""Status freshness after a payment (webhook -> job -> visible through gRPC), the same payments
on an open deal panel (the live stream -> its read through the JSON API), and webhook
deliveries accepted per second at the gateway with none lost."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp
import asyncpg
import grpc

from adapters.postgres.crypto import SecretBox
from bench.harness import Figure, percentile
from dealbooks.v1 import customer_pb2, invoice_pb2, invoice_service_pb2, invoice_service_pb2_grpc
from emulators.pipedrive.jwt import sign_extension_token
from entrypoints.settings import load_settings

PAYMENTS = 100
CONCURRENT_PAYMENTS = 10
WEBHOOK_SECONDS = 5.0
WEBHOOK_CLIENTS = 16
VERIFIER = "dealbooks-demo-verifier"
REALM = "9130354840911234"
DEAL = "companies/13000001/deals/3"
PANEL_USER = 21000001  # Alice Admin, in the demo Pipedrive company


class Panel:
    """An open deal panel as panel.js runs it: the deal's stream, and on each "changed" event
    the deal's invoices read through the JSON API (as ListInvoices answers the panel). Notes
    when each invoice was first seen partly paid (wall clock)."""

    def __init__(self, ports: dict[str, Any]) -> None:
        self.base = f"http://127.0.0.1:{ports['http_port']}"
        token = sign_extension_token(load_settings().pipedrive.jwt_secret, 13000001, PANEL_USER)
        self.headers = {"authorization": f"Bearer {token}"}
        self.seen_paid: dict[str, float] = {}
        self.ready = asyncio.Event()

    async def follow(self, http: aiohttp.ClientSession) -> None:
        async with http.get(
            f"{self.base}/api/v1/deal-changes", params={"parent": DEAL}, headers=self.headers
        ) as stream:
            stream.raise_for_status()
            async for raw in stream.content:
                line = raw.decode().strip()
                if line == "event: ready":
                    self.ready.set()
                elif line == "event: changed":
                    await self._read(http)

    async def _read(self, http: aiohttp.ClientSession) -> None:
        async with http.post(
            f"{self.base}/api/v1/InvoiceService/ListInvoices",
            json={"parent": DEAL, "pageSize": 100},
            headers=self.headers,
        ) as answer:
            listed = await answer.json()
        now = time.time()
        for invoice in listed["invoices"]:
            if invoice["state"] == "INVOICE_STATE_PARTIALLY_PAID":
                self.seen_paid.setdefault(invoice["name"].rsplit("/", 1)[1], now)


async def _freshness(ports: dict[str, Any], token: str) -> tuple[list[float], list[float]]:
    """Per payment: seconds until GetInvoice shows it; seconds from the service's write of it
    (the invoice's ``updated_at``) until the open panel has read it."""
    metadata = (("authorization", f"Bearer {token}"),)
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{ports['grpc_port']}") as channel,
        aiohttp.ClientSession() as http,
    ):
        stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        first = (
            await stub.CreateInvoice(
                invoice_service_pb2.CreateInvoiceRequest(
                    parent=DEAL,
                    request_id="fresh-0",
                    invoice=invoice_pb2.Invoice(
                        customer=customer_pb2.Customer(display_name="Freshness Ltd"),
                        currency_code="USD",
                        lines=[
                            invoice_pb2.LineItem(
                                name="Work", quantity="1", unit_price="100", item_id="1"
                            )
                        ],
                    ),
                ),
                metadata=metadata,
            )
        ).invoice
        customer = customer_pb2.Customer(
            display_name="Freshness Ltd",
            quickbooks_customer_id=first.customer.quickbooks_customer_id,
        )
        invoices = []
        for n in range(1, PAYMENTS + 1):
            reply = await stub.CreateInvoice(
                invoice_service_pb2.CreateInvoiceRequest(
                    parent=DEAL,
                    request_id=f"fresh-{n}",
                    invoice=invoice_pb2.Invoice(
                        customer=customer,
                        currency_code="USD",
                        lines=[
                            invoice_pb2.LineItem(
                                name="Work", quantity="1", unit_price="100", item_id="1"
                            )
                        ],
                    ),
                ),
                metadata=metadata,
            )
            invoices.append(reply.invoice)
        await asyncio.sleep(2)  # let the creation webhooks settle
        panel = Panel(ports)
        following = asyncio.create_task(panel.follow(http))
        await asyncio.wait_for(panel.ready.wait(), 10)
        gate = asyncio.Semaphore(CONCURRENT_PAYMENTS)

        async def one(invoice: invoice_pb2.Invoice) -> float:
            async with gate:
                started = time.perf_counter()
                async with http.post(
                    f"{ports['quickbooks_url']}/_emulator/companies/{REALM}/payments",
                    json={"invoice_id": invoice.quickbooks_invoice_id, "amount": "10"},
                ) as resp:
                    resp.raise_for_status()
                while True:
                    got = await stub.GetInvoice(
                        invoice_service_pb2.GetInvoiceRequest(name=invoice.name), metadata=metadata
                    )
                    if got.invoice.state == invoice_pb2.INVOICE_STATE_PARTIALLY_PAID:
                        return time.perf_counter() - started
                    if time.perf_counter() - started > 60:
                        return float("inf")
                    await asyncio.sleep(0.05)

        delays = list(await asyncio.gather(*(one(i) for i in invoices)))
        ids = [i.name.rsplit("/", 1)[1] for i in invoices]
        for _ in range(100):  # the panel's last reads, at most 5 s after GetInvoice saw them
            if all(i in panel.seen_paid for i in ids):
                break
            await asyncio.sleep(0.05)
        following.cancel()
    conn = await asyncpg.connect(ports["database_url"].replace("postgresql+asyncpg", "postgresql"))
    try:
        written = {
            row["id"]: row["updated_at"].timestamp()
            for row in await conn.fetch(
                "SELECT id, updated_at FROM invoices WHERE id = ANY($1)", ids
            )
        }
    finally:
        await conn.close()
    panel_delays = [panel.seen_paid.get(i, float("inf")) - written[i] for i in ids]
    return delays, panel_delays


async def deliveries(
    urls: list[str],
    database_url: str,
    *,
    seconds: float = WEBHOOK_SECONDS,
    clients: int = WEBHOOK_CLIENTS,
    realm: str = "bench-realm-not-connected",
) -> tuple[float, int, int]:
    """Signed QuickBooks webhook deliveries (one changed invoice each, of a realm no company
    is connected to) from ``clients`` loops for ``seconds``, each sent to the next of ``urls``
    in turn: (deliveries accepted per second, accepted ones not stored, refused)."""
    deadline = time.perf_counter() + seconds
    accepted = refused = 0
    counter = iter(range(10**9))

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal accepted, refused
        while time.perf_counter() < deadline:
            n = next(counter)
            body = json.dumps(
                {
                    "eventNotifications": [
                        {
                            "realmId": realm,
                            "dataChangeEvent": {
                                "entities": [
                                    {
                                        "name": "Invoice",
                                        "id": str(n),
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
            async with http.post(
                urls[n % len(urls)], data=body, headers={"intuit-signature": signature.decode()}
            ) as r:
                if r.status == 200:
                    accepted += 1
                else:
                    refused += 1

    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        # Notices keep the realm's keyed digest (under the service's secret key).
        realm_key = SecretBox(load_settings().secret_key).digest(realm)
        stored = await conn.fetchval(
            "SELECT count(*) FROM accounting_notices WHERE realm_key = $1", realm_key
        )
    finally:
        await conn.close()
    return accepted / elapsed, accepted - int(stored), refused


async def _webhooks(ports: dict[str, Any]) -> tuple[float, int, int]:
    url = f"http://127.0.0.1:{ports['http_port']}/webhooks/quickbooks"
    return await deliveries([url], ports["database_url"])


async def run(ports: dict[str, Any], token: str) -> list[Figure]:
    delays, panel = await _freshness(ports, token)
    rate, lost, refused = await _webhooks(ports)
    return [
        Figure(
            "Status freshness after a payment, p50",
            percentile(delays, 50),
            "s",
            note=f"{PAYMENTS} payments recorded in the emulator, {CONCURRENT_PAYMENTS} at a time; "
            "webhook (0.5 s emulator aggregation) -> job -> GetInvoice shows it",
        ),
        Figure("Status freshness after a payment, p95", percentile(delays, 95), "s", goal="<= 2 s"),
        Figure(
            "Live panel: a payment on an open panel after the service recorded it, p50",
            percentile(panel, 50),
            "s",
            note="the same payments, from the worker's write (updated_at) to the panel's "
            "ListInvoices answer showing it: Postgres NOTIFY -> the gateway's stream -> a read",
        ),
        Figure(
            "Live panel: a payment on an open panel after the service recorded it, p95",
            percentile(panel, 95),
            "s",
            goal="<= 1 s",
        ),
        Figure(
            "Webhook deliveries accepted per second",
            rate,
            "req/s",
            goal=">= 500/s, none lost",
            note=f"{WEBHOOK_CLIENTS} clients for {WEBHOOK_SECONDS:.0f} s; lost: {lost}, "
            f"refused: {refused}",
        ),
    ]
