"""Change data capture (§4.9, fixture F4)."""

from __future__ import annotations

import pytest

from conftest import Api, Limits, make_config


async def freeze(api: Api, when: str) -> None:
    await api.client.post("/_emulator/clock", json={"now": when, "freeze": True})


async def test_cdc_returns_changed_objects_then_deleted_tombstones(us: Api):
    await freeze(us, "2026-03-01T12:00:00Z")
    kept = await us.create_invoice()
    gone = await us.create_invoice()
    await freeze(us, "2026-03-02T12:00:00Z")
    await us.post("invoice", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete")
    status, body = await us.get(
        "cdc", entities="Invoice,Payment", changedSince="2026-03-01T03:00:00-08:00"
    )
    assert status == 200
    assert set(body) == {"CDCResponse", "time"}
    blocks = body["CDCResponse"][0]["QueryResponse"]
    assert len(blocks) == 1
    block = blocks[0]
    assert block["startPosition"] == 1
    assert block["maxResults"] == 2
    assert block["Invoice"][0]["Id"] == kept["Id"]
    assert block["Invoice"][0]["TotalAmt"] == 100.0
    tombstone = block["Invoice"][1]
    assert set(tombstone) == {"domain", "status", "Id", "MetaData"}
    assert tombstone["status"] == "Deleted"
    assert tombstone["Id"] == gone["Id"]
    assert set(tombstone["MetaData"]) == {"LastUpdatedTime"}


async def test_cdc_accepts_date_forms_and_reports_no_changes(us: Api):
    await freeze(us, "2026-03-10T12:00:00Z")
    await us.create_invoice()
    for since in ("2026-03-11", "2026-03-11T00:00:00", "2026-03-11T00:00:00Z"):
        status, body = await us.get("cdc", entities="Invoice", changedSince=since)
        assert status == 200
        assert body["CDCResponse"] == [{"QueryResponse": [{}]}]
    status, body = await us.get("cdc", entities="invoice", changedSince="2026-03-10")
    assert len(body["CDCResponse"][0]["QueryResponse"][0]["Invoice"]) == 1


async def test_cdc_refuses_more_than_30_days(us: Api):
    await freeze(us, "2026-03-10T12:00:00Z")
    status, body = await us.get("cdc", entities="Invoice", changedSince="2026-02-01")
    assert status == 400
    assert "older than fixed days is not supported" in body["Fault"]["Error"][0]["Detail"]
    status, body = await us.get("cdc", entities="TaxCode", changedSince="2026-03-01")
    assert status == 400


async def test_payment_shows_up_with_the_updated_invoice(us: Api):
    await freeze(us, "2026-03-10T12:00:00Z")
    invoice = await us.create_invoice()
    await freeze(us, "2026-03-11T12:00:00Z")
    await us.client.post(
        f"/_emulator/companies/{us.realm}/payments", json={"invoice_id": invoice["Id"]}
    )
    _status, body = await us.get("cdc", entities="Payment,Invoice", changedSince="2026-03-11")
    names = [
        next(k for k in b if k not in ("startPosition", "maxResults"))
        for b in body["CDCResponse"][0]["QueryResponse"]
    ]
    assert names == ["Payment", "Invoice"]
    invoice_block = body["CDCResponse"][0]["QueryResponse"][1]["Invoice"]
    assert invoice_block[0]["Balance"] == 0


SMALL_CAP = make_config(
    limits=Limits(requests_per_second=1000, requests_per_minute=10000, cdc_max_objects=3)
)


def groups(body: dict) -> list[tuple[str, list[str]]]:
    """(entity, [Id or "deleted Id"]) per group, in the order answered."""
    return [
        (name, [("deleted " if o.get("status") == "Deleted" else "") + o["Id"] for o in objects])
        for block in body["CDCResponse"][0]["QueryResponse"]
        for name, objects in block.items()
        if name not in ("startPosition", "maxResults")
    ]


@pytest.mark.parametrize("config", [SMALL_CAP])
async def test_cdc_cuts_the_groups_in_the_order_asked_at_the_cap(us: Api):
    """§4.9: at most ``cdc_max_objects`` objects, no paging; grouped by type in the order asked,
    each group by LastUpdatedTime with its deleted objects after the changed ones."""
    await freeze(us, "2026-03-01T12:00:00Z")
    first = await us.create_invoice()
    await freeze(us, "2026-03-01T12:01:00Z")
    gone = await us.create_invoice()
    await freeze(us, "2026-03-01T12:02:00Z")
    paid = await us.create_invoice()
    await freeze(us, "2026-03-01T12:03:00Z")
    await us.post("invoice", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete")
    await freeze(us, "2026-03-01T12:04:00Z")
    await us.client.post(
        f"/_emulator/companies/{us.realm}/payments", json={"invoice_id": paid["Id"]}
    )
    since = "2026-03-01T11:59:00Z"

    _, body = await us.get("cdc", entities="Invoice,Payment", changedSince=since)
    assert groups(body) == [("Invoice", [first["Id"], paid["Id"], f"deleted {gone['Id']}"])]

    _, body = await us.get("cdc", entities="Payment,Invoice", changedSince=since)
    assert [(name, len(ids)) for name, ids in groups(body)] == [("Payment", 1), ("Invoice", 2)]
    assert groups(body)[1] == ("Invoice", [first["Id"], paid["Id"]])  # the deletion cut off
