"""Pipedrive's deal visibility through the UI's JSON API (issue 16): a deal Pipedrive shows to
its owner and followers only hides its invoices from everyone else, and refuses them any action
with PERMISSION_DENIED / 403 and reason DEAL_NOT_VISIBLE; a follower and the admins see them.
Who may see the deal is Pipedrive's answer (the emulator's ``permittedUsers``)."""

from __future__ import annotations

from typing import Any

import aiohttp

from application.reasons import Reason
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY
from tests.e2e.test_ui_api import ADMIN, FRENCH_ADMIN, SALES, call, token

FOLLOWER = 21000002  # Bruno Martin, not an admin
DEAL = f"companies/{DEMO_COMPANY}/deals/3"


async def hidden_deal_with_an_invoice(demo: DemoStack) -> str:
    """Deal 3 (owned by Alice Admin) with one invoice, then shown to owner & followers only,
    Bruno following it; the invoice's name."""
    status, _, created = await call(
        demo,
        "/api/v1/InvoiceService/CreateInvoice",
        {
            "parent": DEAL,
            "requestId": "visibility-1",
            "invoice": {
                "customer": {"displayName": "Visible Inc."},
                "currencyCode": "USD",
                "lines": [{"name": "Consulting", "quantity": "1", "unitPrice": "150"}],
            },
        },
        bearer=token(demo, ADMIN),
    )
    assert status == 200, created
    emulators = demo.emulators
    await emulators.admin("pipedrive", "PATCH", "deals/3", visible_to=1)
    await emulators.admin("pipedrive", "POST", "deals/3/followers", user_id=FOLLOWER)
    await emulators.admin("pipedrive", "DELETE", "requests")
    name: str = created["invoice"]["name"]
    return name


async def listed(demo: DemoStack, user: int) -> tuple[int, dict[str, Any]]:
    status, _, body = await call(
        demo, "/api/v1/InvoiceService/ListInvoices", {"parent": DEAL}, bearer=token(demo, user)
    )
    return status, body


async def permitted_reads(demo: DemoStack) -> int:
    log = await demo.emulators.admin("pipedrive", "GET", "requests?path=/permittedUsers")
    return len(log["requests"])


async def test_a_hidden_deals_invoices_are_neither_listed_nor_open_to_action_for_others(
    demo: DemoStack,
) -> None:
    name = await hidden_deal_with_an_invoice(demo)
    carol = token(demo, SALES)

    status, refused = await listed(demo, SALES)
    assert (status, refused["reason"]) == (403, Reason.DEAL_NOT_VISIBLE), refused
    assert refused["metadata"] == {"company": DEMO_COMPANY, "deal": "3"}
    assert "Pipedrive does not show you this deal" in refused["detail"]
    for path, body in (
        ("ListInvoiceEvents", {"parent": DEAL}),
        ("GetInvoice", {"name": name}),
        ("PrepareInvoice", {"parent": DEAL}),
        ("VoidInvoice", {"name": name}),
        ("DeleteInvoice", {"name": name}),
        ("SendInvoice", {"name": name}),
        ("RefreshInvoices", {"parent": DEAL}),
    ):
        status, kind, refused = await call(
            demo, f"/api/v1/InvoiceService/{path}", body, bearer=carol
        )
        assert (status, kind) == (403, "application/problem+json"), (path, refused)
        assert refused["reason"] == Reason.DEAL_NOT_VISIBLE, path
    async with aiohttp.ClientSession() as session:
        headers = {"authorization": f"Bearer {carol}"}
        for path, params in (
            ("/api/v1/deal-changes", {"parent": DEAL}),
            ("/api/v1/invoice-pdf", {"name": name}),
        ):
            async with session.get(
                f"{demo.settings.public_url}{path}", params=params, headers=headers
            ) as response:
                problem = await response.json(content_type=None)
                assert response.status == 403, (path, problem)
                assert problem["reason"] == Reason.DEAL_NOT_VISIBLE

    # Nothing was done to the invoice: the owner still sees it open.
    status, body = await listed(demo, ADMIN)
    assert [i["state"] for i in body["invoices"]] == ["INVOICE_STATE_OPEN"]


async def test_a_follower_sees_and_acts_on_a_hidden_deals_invoices(demo: DemoStack) -> None:
    name = await hidden_deal_with_an_invoice(demo)

    status, body = await listed(demo, FOLLOWER)
    assert status == 200, body
    assert [i["name"] for i in body["invoices"]] == [name]
    status, _, voided = await call(
        demo, "/api/v1/InvoiceService/VoidInvoice", {"name": name}, bearer=token(demo, FOLLOWER)
    )
    assert status == 200, voided
    assert voided["invoice"]["state"] == "INVOICE_STATE_VOIDED"
    assert await permitted_reads(demo) == 2  # one Pipedrive read per check


async def test_admins_see_every_deal_without_asking_pipedrive(demo: DemoStack) -> None:
    name = await hidden_deal_with_an_invoice(demo)

    for admin in (ADMIN, FRENCH_ADMIN):
        status, body = await listed(demo, admin)
        assert status == 200, body
        assert [i["name"] for i in body["invoices"]] == [name]
    assert await permitted_reads(demo) == 0


async def test_a_deal_shown_again_to_the_company_lists_its_invoices_at_once(
    demo: DemoStack,
) -> None:
    name = await hidden_deal_with_an_invoice(demo)
    status, _ = await listed(demo, SALES)
    assert status == 403

    await demo.emulators.admin("pipedrive", "PATCH", "deals/3", visible_to=3)

    status, body = await listed(demo, SALES)
    assert status == 200, body
    assert [i["name"] for i in body["invoices"]] == [name]
