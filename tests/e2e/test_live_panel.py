"""The live panel's stream through the real gateway, service, Postgres and both emulators
(issue 16): subscribed with the Pipedrive JWT, scoped to the token's company, told when the
deal's invoices change, whichever process wrote them (a create through the API, a payment
recorded in QuickBooks and applied by the worker from its webhook)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from application.reasons import Reason
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY, US_REALM
from tests.e2e.test_ui_api import call, token

pytestmark = pytest.mark.e2e
DEAL = f"companies/{DEMO_COMPANY}/deals/3"
WAIT = 20.0  # s: a webhook and its job on a loaded 2-core machine


class Stream:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next_event(self) -> str:
        """The next event's type (keep-alive comments skipped)."""
        async with asyncio.timeout(WAIT):
            kind = ""
            async for raw in self.response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line == "" and kind:
                    return kind
        raise AssertionError("the stream ended")


@asynccontextmanager
async def stream(demo: DemoStack, parent: str, bearer: str) -> AsyncIterator[Stream]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{demo.settings.public_url}/api/v1/deal-changes",
            params={"parent": parent},
            headers={"authorization": f"Bearer {bearer}"} if bearer else {},
        ) as response,
    ):
        yield Stream(response)


async def test_an_open_panel_is_told_of_a_create_and_of_a_payment_made_in_quickbooks(
    demo: DemoStack,
) -> None:
    async with stream(demo, DEAL, token(demo)) as live:
        assert live.response.status == 200
        assert live.response.headers["content-type"].startswith("text/event-stream")
        assert await live.next_event() == "ready"

        status, _, body = await call(
            demo,
            "/api/v1/InvoiceService/CreateInvoice",
            {
                "parent": DEAL,
                "requestId": "live-panel-1",
                "invoice": {
                    "customer": {"displayName": "Live Panel Inc."},
                    "currencyCode": "USD",
                    "lines": [{"name": "Consulting", "quantity": "1", "unitPrice": "150"}],
                },
            },
        )
        assert status == 200, body
        assert await live.next_event() == "changed"
        quickbooks_id = body["invoice"]["quickbooksInvoiceId"]
        while True:  # the create's own follow-ups may write it again: drain what is queued
            try:
                async with asyncio.timeout(2):
                    await live.next_event()
            except TimeoutError:
                break

        await demo.emulators.admin(
            "quickbooks",
            "POST",
            f"companies/{US_REALM}/payments",
            invoice_id=quickbooks_id,
            amount="50.00",
        )
        assert await live.next_event() == "changed"  # the worker applied the webhook
        _, _, listed = await call(demo, "/api/v1/InvoiceService/ListInvoices", {"parent": DEAL})
        assert listed["invoices"][0]["state"] == "INVOICE_STATE_PARTIALLY_PAID"


async def test_the_stream_is_for_the_tokens_company_only(demo: DemoStack) -> None:
    for parent, bearer, expected in (
        (DEAL, "", 401),
        ("companies/99999/deals/3", token(demo), 403),
        (f"{DEAL}/invoices", token(demo), 400),
    ):
        async with stream(demo, parent, bearer) as refused:
            assert refused.response.status == expected, parent
            assert refused.response.content_type == "application/problem+json"
            if expected == 401:
                body = await refused.response.json(content_type=None)
                assert body["reason"] == Reason.INVALID_PIPEDRIVE_TOKEN
