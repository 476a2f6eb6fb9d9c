"""requestid: a repeated write returns the original response and writes nothing (§1.5)."""

from __future__ import annotations

import aiohttp
import pytest
import qbo_fixtures as fx

from conftest import Api


async def count(api: Api, entity: str = "Invoice") -> int:
    _, body = await api.query(f"select count(*) from {entity}")
    return body["QueryResponse"]["totalCount"]


async def test_same_requestid_returns_the_original_response_byte_for_byte(us: Api):
    before = await count(us)
    async with us.client.post(
        us.url("invoice"),
        params={"requestid": "deal-4711-create-1"},
        json=fx.F1_REQUEST,
        headers=us.headers,
    ) as resp:
        first = await resp.read()
    async with us.client.post(
        us.url("invoice"),
        params={"requestid": "deal-4711-create-1"},
        json={**fx.F1_REQUEST, "PrivateNote": "different"},
        headers=us.headers,
    ) as resp:
        assert resp.status == 200
        second = await resp.read()
    assert first == second
    assert await count(us) == before + 1


async def test_failures_are_remembered_too_and_ids_are_per_realm(us: Api, uk: Api):
    bad = {"CustomerRef": {"value": "1"}}
    status, body = await us.post("invoice", bad, requestid="r-1")
    assert status == 400
    status, again = await us.post("invoice", fx.F1_REQUEST, requestid="r-1")
    assert (status, again) == (400, body)
    status, _ = await uk.post(
        "invoice",
        {**fx.F1_REQUEST, "GlobalTaxCalculation": "TaxExcluded", "CurrencyRef": {"value": "GBP"}},
        requestid="r-1",
    )
    assert status == 200


async def test_requestid_longer_than_50_chars_is_rejected(us: Api):
    status, body = await us.post("invoice", fx.F1_REQUEST, requestid="x" * 51)
    assert status == 400
    assert body["Fault"]["Error"][0]["code"] == "2050"


async def test_drop_after_commit_then_retry_with_same_requestid_does_not_duplicate(us: Api):
    before = await count(us)
    async with us.client.post(
        "/_emulator/faults",
        json={"method": "POST", "path": "/invoice$", "drop_after_commit": True, "count": 1},
    ) as resp:
        assert resp.status == 201
    with pytest.raises(aiohttp.ClientError):
        async with us.client.post(
            us.url("invoice"),
            params={"requestid": "deal-1-create-1"},
            json=fx.F1_REQUEST,
            headers=us.headers,
        ) as resp:
            await resp.read()
    assert await count(us) == before + 1  # the write happened
    status, _body = await us.post("invoice", fx.F1_REQUEST, requestid="deal-1-create-1")
    assert status == 200
    assert await count(us) == before + 1
    async with us.client.get("/_emulator/requests", params={"path": "/invoice"}) as resp:
        log = (await resp.json())["requests"]
    assert log[0]["status"] == "dropped-after-200"


async def test_batch_requestid_matches_only_with_the_same_bids(us: Api):
    batch = {"BatchItemRequest": [{"bId": "b1", "operation": "create", "Invoice": fx.F1_REQUEST}]}
    before = await count(us)
    status, first = await us.post("batch", batch, requestid="batch-1")
    status, second = await us.post("batch", batch, requestid="batch-1")
    assert first == second
    assert await count(us) == before + 1
    other = {"BatchItemRequest": [{"bId": "b2", "operation": "create", "Invoice": fx.F1_REQUEST}]}
    await us.post("batch", other, requestid="batch-1")
    assert await count(us) == before + 2
    status, body = await us.post("batch", batch, requestid="y" * 37)
    assert status == 400
    assert body["Fault"]["Error"][0]["code"] == "2050"
    long_bid = {"BatchItemRequest": [{"bId": "b" * 11, "Query": "select * from Term"}]}
    status, _body = await us.post("batch", long_bid, requestid="batch-2")
    assert status == 400
