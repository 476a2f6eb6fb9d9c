"""``InvoiceLink``, the customer's payment link (reference §3.2, §4.1): returned only with
``?include=invoiceLink``, and only where the company takes online payments (QuickBooks
Payments), the invoice allows paying online and it has a valid customer email."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from conftest import US, Api

EMAIL = {"BillEmail": {"Address": "ap@customer.example"}}


async def _online_payments(client: TestClient, on: bool) -> None:
    async with client.post(
        f"/_emulator/companies/{US}/preferences", json={"online_payments": on}
    ) as resp:
        assert resp.status == 200


async def _create(us: Api, include: bool = True, **extra: Any) -> dict[str, Any]:
    body = {
        "CustomerRef": {"value": "1"},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 100.0,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            }
        ],
        **EMAIL,
        **extra,
    }
    params = {"include": "invoiceLink"} if include else {}
    status, data = await us.post("invoice", body, **params)
    assert status == 200, data
    return data["Invoice"]


async def test_a_company_taking_online_payments_gets_the_link_on_create_and_read(
    client: TestClient, us: Api
):
    await _online_payments(client, True)
    created = await _create(us)
    # Omitted, the payment options take the company's QuickBooks Payments settings (2024-09).
    assert created["AllowOnlineCreditCardPayment"] is True
    assert created["AllowOnlineACHPayment"] is True
    link = created["InvoiceLink"]
    assert link.startswith("http://127.0.0.1:")
    assert "/portal/app/CommerceNetwork/view/" in link
    status, read = await us.get(f"invoice/{created['Id']}", include="invoiceLink")
    assert status == 200
    assert read["Invoice"]["InvoiceLink"] == link
    async with client.get(link.replace(str(client.make_url("")).rstrip("/"), "")) as resp:
        assert resp.status == 200
        assert "Pay now" in await resp.text()


async def test_without_include_there_is_no_link(client: TestClient, us: Api):
    await _online_payments(client, True)
    created = await _create(us, include=False)
    assert "InvoiceLink" not in created
    status, read = await us.get(f"invoice/{created['Id']}")
    assert status == 200
    assert "InvoiceLink" not in read["Invoice"]


async def test_a_company_without_online_payments_gets_no_link(client: TestClient, us: Api):
    created = await _create(us)  # the demo companies do not take online payments
    assert created["AllowOnlineCreditCardPayment"] is False
    assert "InvoiceLink" not in created


async def test_an_invoice_that_allows_no_online_payment_gets_no_link(client: TestClient, us: Api):
    await _online_payments(client, True)
    created = await _create(us, AllowOnlineCreditCardPayment=False, AllowOnlineACHPayment=False)
    assert "InvoiceLink" not in created
    status, updated = await us.post(
        "invoice",
        {
            "Id": created["Id"],
            "SyncToken": created["SyncToken"],
            "sparse": True,
            "AllowOnlineACHPayment": True,
        },
        include="invoiceLink",
    )
    assert status == 200
    assert updated["Invoice"]["InvoiceLink"]  # an update may ask for the link too


async def test_a_voided_invoice_loses_its_link(client: TestClient, us: Api):
    await _online_payments(client, True)
    created = await _create(us)
    status, _ = await us.post(
        "invoice", {"Id": created["Id"], "SyncToken": created["SyncToken"]}, operation="void"
    )
    assert status == 200
    status, read = await us.get(f"invoice/{created['Id']}", include="invoiceLink")
    assert status == 200
    assert "InvoiceLink" not in read["Invoice"]


async def test_the_email_quickbooks_sends_carries_the_link(client: TestClient, us: Api):
    await _online_payments(client, True)
    created = await _create(us, DocNumber="PL-1")
    async with client.post(
        us.url(f"invoice/{created['Id']}/send"),
        params={"minorversion": "75"},
        headers={**us.headers, "Content-Type": "application/octet-stream"},
    ) as resp:
        assert resp.status == 200
    async with client.get(f"/_emulator/companies/{US}/emails") as resp:
        email = (await resp.json())["emails"][-1]
    assert email["invoice_link"] == created["InvoiceLink"]
    assert created["InvoiceLink"] in email["body"]
    assert "PL-1" in email["subject"]


async def test_the_email_of_a_company_without_online_payments_has_no_link(
    client: TestClient, us: Api
):
    created = await _create(us)
    async with client.post(
        f"/_emulator/companies/{US}/invoices/{created['Id']}/send", json={}
    ) as resp:
        assert resp.status == 200
    async with client.get(f"/_emulator/companies/{US}/emails") as resp:
        email = (await resp.json())["emails"][-1]
    assert email["invoice_link"] is None
    assert "pay" not in email["body"].lower()
