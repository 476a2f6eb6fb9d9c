"""Customer rules: unique DisplayName (6240), sparse update, SyncToken, masking, currency."""

from __future__ import annotations

import qbo_fixtures as fx

from conftest import Api

DUPLICATE = next(i for i in fx.F5_BATCH_FAULTS["BatchItemResponse"] if i["bId"] == "bid1")


async def test_create_read_and_sparse_update(us: Api):
    status, body = await us.post(
        "customer",
        {
            "DisplayName": "Globex",
            "PrimaryEmailAddr": {"Address": "ap@globex.example"},
            "PrimaryTaxIdentifier": "123456789",
        },
    )
    assert status == 200
    customer = body["Customer"]
    assert customer["SyncToken"] == "0"
    assert customer["Active"] is True
    assert customer["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}
    assert customer["PrimaryTaxIdentifier"] == "XXXXXX56789"
    status, body = await us.post(
        "customer",
        {
            "Id": customer["Id"],
            "SyncToken": "0",
            "sparse": True,
            "PrimaryEmailAddr": {"Address": "new@globex.example"},
        },
    )
    assert status == 200
    assert body["Customer"]["SyncToken"] == "1"
    assert body["Customer"]["DisplayName"] == "Globex"
    assert body["Customer"]["PrimaryEmailAddr"] == {"Address": "new@globex.example"}
    status, body = await us.post(
        "customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "stale"}
    )
    assert status == 400
    assert body["Fault"]["Error"][0]["code"] == "5010"


async def test_duplicate_display_name_is_6240_even_against_vendors_and_inactive(us: Api):
    status, body = await us.post("customer", {"DisplayName": "amy's bird sanctuary"})
    assert status == 400
    assert body["Fault"] == DUPLICATE["Fault"]
    status, body = await us.post("customer", {"DisplayName": "Books by Bessie"})  # a vendor
    assert body["Fault"]["Error"][0]["code"] == "6240"
    status, body = await us.post("customer", {"DisplayName": "Short Lived"})
    cust = body["Customer"]
    status, body = await us.post(
        "customer", {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert body["Customer"]["Active"] is False
    status, body = await us.post("customer", {"DisplayName": "Short Lived"})
    assert body["Fault"]["Error"][0]["code"] == "6240"
    status, body = await us.query("select * from Customer where DisplayName = 'Short Lived'")
    assert body["QueryResponse"] == {}
    status, body = await us.query(
        "select * from Customer where DisplayName = 'Short Lived' and Active in (true, false)"
    )
    assert body["QueryResponse"]["Customer"][0]["Active"] is False


async def test_display_name_derived_from_name_parts_and_validated(us: Api):
    status, body = await us.post("customer", {"GivenName": "Kate", "FamilyName": "O'Brien"})
    assert body["Customer"]["DisplayName"] == "Kate O'Brien"
    status, body = await us.post("customer", {"Notes": "no name"})
    assert status == 400
    assert body["Fault"]["Error"][0]["code"] == "2020"
    status, body = await us.post("customer", {"DisplayName": "a:b"})
    assert status == 400
    status, body = await us.post(
        "customer", {"DisplayName": "Bad mail", "PrimaryEmailAddr": {"Address": "nope"}}
    )
    assert status == 400


async def test_customer_currency_is_write_once_and_needs_multicurrency(us: Api, uk: Api):
    status, body = await us.post(
        "customer", {"DisplayName": "Euro Co", "CurrencyRef": {"value": "EUR"}}
    )
    assert status == 400
    status, body = await uk.post(
        "customer", {"DisplayName": "Euro Co", "CurrencyRef": {"value": "EUR"}}
    )
    assert status == 200
    cust = body["Customer"]
    status, body = await uk.post(
        "customer",
        {"Id": cust["Id"], "SyncToken": "0", "sparse": True, "CurrencyRef": {"value": "USD"}},
    )
    assert status == 400
    assert body["Fault"]["Error"][0]["code"] == "6000"


async def test_customer_balance_follows_invoices(us: Api):
    await us.create_invoice(CustomerRef={"value": "2"})
    _status, body = await us.get("customer/2")
    assert body["Customer"]["Balance"] == 100.0


async def test_items_and_terms(us: Api):
    status, body = await us.post(
        "item",
        {
            "Name": "Retainer",
            "Type": "Service",
            "UnitPrice": 500,
            "IncomeAccountRef": {"value": "1"},
        },
    )
    assert status == 200
    assert body["Item"]["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    status, body = await us.post(
        "item", {"Name": "retainer", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
    )
    assert body["Fault"]["Error"][0]["code"] == "6240"
    status, body = await us.post("item", {"Name": "No account", "Type": "Service"})
    assert body["Fault"]["Error"][0]["code"] == "2020"
    status, body = await us.post("term", {"Name": "Net 45", "DueDays": 45})
    assert body["Term"]["Type"] == "STANDARD"
    status, body = await us.post("customer", {"Id": "1", "SyncToken": "0"}, operation="delete")
    assert status == 400  # name-list entities are deactivated, not deleted
