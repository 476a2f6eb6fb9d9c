"""Bulk invoicing through the UI's JSON API, on the demo stack (real Postgres, the Pipedrive and
QuickBooks emulators over HTTP): ListWonDeals offers the month's won deals without an invoice,
and InvoiceDeals answers NDJSON, one line per deal as QuickBooks answers, making each deal's
invoice once even when the same run is sent again."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from application.reasons import Reason
from domain.messages import MessageCode
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY, US_REALM
from tests.e2e.test_ui_api import SALES, call, token

PARENT = f"companies/{DEMO_COMPANY}"


def deal(number: int) -> str:
    return f"{PARENT}/deals/{number}"


async def stream(demo: DemoStack, body: Any, user_token: str = "") -> tuple[int, str, list[Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{demo.settings.public_url}/api/v1/BulkInvoiceService/InvoiceDeals",
            json=body,
            headers={"authorization": f"Bearer {user_token or token(demo)}"},
        ) as response,
    ):
        text = await response.text()
        if response.content_type != "application/x-ndjson":
            return response.status, response.content_type, [json.loads(text)]
        lines = [json.loads(line)["result"] for line in text.splitlines() if line.strip()]
        return response.status, response.content_type, lines


async def quickbooks_invoices(demo: DemoStack) -> list[dict[str, Any]]:
    found = await demo.emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
    return list(found["invoices"])


async def test_the_months_won_deals_are_invoiced_once_each_through_the_json_api(
    demo: DemoStack,
) -> None:
    for number in (3, 6):
        await demo.emulators.admin("pipedrive", "PATCH", f"deals/{number}", status="won")

    status, _, listed = await call(
        demo, "/api/v1/BulkInvoiceService/ListWonDeals", {"parent": PARENT}
    )

    assert status == 200
    assert [d["name"] for d in listed["deals"]] == [deal(6), deal(3), deal(1)]
    assert listed["deals"][1]["value"] == {"currencyCode": "USD", "amount": "9770"}
    run = {
        "parent": PARENT,
        "deals": [{"deal": deal(n), "requestId": f"run-{n}"} for n in (6, 3)],
    }
    status, kind, lines = await stream(demo, run)

    assert (status, kind) == (200, "application/x-ndjson")
    by_deal = {line["deal"]: line for line in lines}
    assert by_deal[deal(6)]["error"]["fieldViolations"][0]["reason"] == MessageCode.NO_LINES
    invoice = by_deal[deal(3)]["invoice"]
    assert invoice["state"] == "INVOICE_STATE_OPEN"
    assert len(await quickbooks_invoices(demo)) == 1

    # The same run again (its answer lost, say): the same invoice, nothing new in QuickBooks.
    _, _, again = await stream(demo, run)
    assert {line["deal"]: line.get("invoice", {}).get("name") for line in again}[deal(3)] == (
        invoice["name"]
    )
    assert len(await quickbooks_invoices(demo)) == 1
    _, _, listed = await call(demo, "/api/v1/BulkInvoiceService/ListWonDeals", {"parent": PARENT})
    assert [d["name"] for d in listed["deals"]] == [deal(6), deal(1)]
    assert listed["invoicedCount"] == 1


async def test_a_run_refused_as_a_whole_is_a_problem_not_a_stream(demo: DemoStack) -> None:
    status, kind, lines = await stream(
        demo, {"parent": "companies/999", "deals": [{"deal": deal(3), "requestId": "x"}]}
    )
    assert (status, kind) == (403, "application/problem+json")
    assert lines[0]["reason"]

    status, _, problem = await call(
        demo, "/api/v1/BulkInvoiceService/ListWonDeals", {"parent": PARENT, "month": "2026-13"}
    )
    assert status == 400
    assert problem["errors"][0]["code"] == MessageCode.NOT_A_MONTH


async def test_a_user_who_may_not_create_invoices_gets_no_list(demo: DemoStack) -> None:
    status, _, _ = await call(
        demo,
        "/api/v1/SettingsService/UpdateSettings",
        {
            "settings": {
                "name": f"{PARENT}/settings",
                "invoicePermissions": {"adminsOnly": ["INVOICE_ACTION_CREATE"]},
            },
            "updateMask": "invoicePermissions",
        },
    )
    assert status == 200
    status, _, problem = await call(
        demo,
        "/api/v1/BulkInvoiceService/ListWonDeals",
        {"parent": PARENT},
        bearer=token(demo, SALES),
    )
    assert status == 403
    assert problem["reason"] == Reason.ADMINS_ONLY
