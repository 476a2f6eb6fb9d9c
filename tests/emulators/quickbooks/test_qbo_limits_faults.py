"""Throttling (429), batch (F5), fault injection, request log and intuit_tid."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
import qbo_fixtures as fx
from aiohttp.test_utils import TestClient, TestServer

from conftest import US, Api, Limits, make_config
from emulators.quickbooks.app import create_app

THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"


async def small_limits_api(**limits) -> tuple[TestClient, Api]:
    config = make_config(limits=Limits(**limits))
    client = TestClient(TestServer(create_app(config)))
    await client.start_server()
    async with client.post("/_emulator/tokens", json={"realm_id": US}) as resp:
        token = (await resp.json())["access_token"]
    return client, Api(client, US, token)


async def test_requests_per_second_limit_gives_json_429():
    client, api = await small_limits_api(requests_per_second=3)
    try:
        statuses = [(await api.get("term/1"))[0] for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        status, body = await api.get("term/1")
        assert status == 429
        error = body["Fault"]["Error"][0]
        assert error["code"] == "3001"
        assert error["Message"] == THROTTLE_MESSAGE
        assert error["Detail"] == "The request limit was reached.  Try again later"
        await asyncio.sleep(1.05)
        assert (await api.get("term/1"))[0] == 200
    finally:
        await client.close()


async def test_throttle_is_xml_when_xml_is_requested_or_configured():
    client, api = await small_limits_api(requests_per_minute=1)
    try:
        await api.get("term/1")
        async with client.get(
            api.url("term/1"),
            headers={"Authorization": f"Bearer {api.token}", "Accept": "application/xml"},
        ) as resp:
            assert resp.status == 429
            assert resp.content_type == "application/xml"
            text = await resp.text()
        assert '<Fault type="SERVICE">' in text
        assert '<Error code="3001">' in text
        assert f"<Message>{THROTTLE_MESSAGE}</Message>" in text
    finally:
        await client.close()
    client, api = await small_limits_api(requests_per_minute=1, throttle_body="xml")
    try:
        await api.get("term/1")
        async with client.get(api.url("term/1"), headers=api.headers) as resp:
            assert resp.status == 429
            assert resp.content_type == "application/xml"
    finally:
        await client.close()


async def test_concurrency_limit():
    client, api = await small_limits_api(concurrent_requests=2)
    try:
        await client.post("/_emulator/faults", json={"path": "/term/", "latency_ms": 300})
        results = await asyncio.gather(*(api.get("term/1") for _ in range(3)))
        assert sorted(s for s, _ in results) == [200, 200, 429]
    finally:
        await client.close()


async def test_batch_limits():
    client, api = await small_limits_api(batch_max_items=2, batch_calls_per_minute=1)
    try:
        items = [{"bId": f"q{i}", "Query": "select * from Term"} for i in range(3)]
        status, _body = await api.post("batch", {"BatchItemRequest": items})
        assert status == 400
        status, _ = await api.post("batch", {"BatchItemRequest": items[:2]})
        assert status == 429  # the oversized call counted as the one batch call this minute
    finally:
        await client.close()


async def test_batch_mixes_results_and_faults_in_a_200_like_f5(us: Api):
    _, body = await us.post("customer", {"DisplayName": "Batch Target"})
    customer = body["Customer"]
    await us.post(
        "customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "1"}
    )
    status, body = await us.post(
        "batch",
        {
            "BatchItemRequest": [
                {
                    "bId": "bid1",
                    "operation": "create",
                    "Customer": {"DisplayName": "Amy's Bird Sanctuary"},
                },
                {
                    "bId": "bid2",
                    "operation": "delete",
                    "Invoice": {"SyncToken": "0", "Id": "129999"},
                },
                {
                    "bId": "bid3",
                    "operation": "update",
                    "Customer": {
                        "Id": customer["Id"],
                        "SyncToken": "0",
                        "sparse": True,
                        "Notes": "2",
                    },
                },
                {"bId": "bid4", "Query": "select * from Term where Name = 'Net 30'"},
                {"bId": "bid5", "operation": "create", "Invoice": fx.F1_REQUEST},
            ]
        },
    )
    assert status == 200
    items = body["BatchItemResponse"]
    assert items[:3] == fx.F5_BATCH_FAULTS["BatchItemResponse"]
    assert items[3]["QueryResponse"]["Term"][0]["DueDays"] == 30
    assert items[4]["Invoice"]["TotalAmt"] == 100.0
    assert set(body) == {"BatchItemResponse", "time"}


async def test_injected_status_latency_and_count(us: Api):
    async with us.client.post(
        "/_emulator/faults", json={"path": "/invoice/", "method": "GET", "status": 503, "count": 1}
    ) as resp:
        rule = await resp.json()
    assert rule["count"] == 1
    status, body = await us.get("invoice/1")
    assert status == 503
    assert body["Fault"]["type"] == "SERVICE"
    status, body = await us.get("invoice/1")
    assert status == 400  # rule used up; the real answer is 610
    await us.client.post("/_emulator/faults", json={"path": "/term/", "status": 500})
    status, body = await us.get("term/1")
    assert (status, body["Fault"]["Error"][0]["code"]) == (500, "10000")
    await us.client.post(
        "/_emulator/faults",
        json={"path": "/item/", "status": 200, "fault": {"code": "6000", "detail": "x"}},
    )
    status, body = await us.get("item/1")
    assert status == 200
    assert body["Fault"]["Error"][0]["code"] == "6000"
    async with us.client.delete("/_emulator/faults") as resp:
        assert (await resp.json())["deleted"] == 2
    assert (await us.get("term/1"))[0] == 200
    await us.client.post("/_emulator/faults", json={"path": "/term/", "latency_ms": 200})
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert (await us.get("term/1"))[0] == 200
    assert loop.time() - start >= 0.2


async def test_timeout_fault_hangs_until_the_client_gives_up(us: Api):
    await us.client.post("/_emulator/faults", json={"path": "/term/", "timeout": True, "count": 1})
    with pytest.raises((asyncio.TimeoutError, aiohttp.ClientError)):
        async with us.client.get(
            us.url("term/1"), headers=us.headers, timeout=aiohttp.ClientTimeout(total=0.3)
        ) as resp:
            await resp.read()


async def test_a_timeout_rule_may_hang_for_less_and_then_drop_the_connection(us: Api):
    # The emulator hangs 5 s by default here; this rule gives up after 0.1 s, well before the
    # client's own 10 s: the client sees the connection dropped, not its timeout.
    await us.client.post(
        "/_emulator/faults",
        json={"path": "/term/", "timeout": True, "hang_seconds": 0.1, "count": 1},
    )
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with us.client.get(
            us.url("term/1"), headers=us.headers, timeout=aiohttp.ClientTimeout(total=10)
        ) as resp:
            await resp.read()
    assert (await us.get("term/1"))[0] == 200


async def test_bad_fault_spec_is_rejected(client):
    async with client.post("/_emulator/faults", json={"path": "("}) as resp:
        assert resp.status == 400
    async with client.post("/_emulator/faults", json={"path": "/x"}) as resp:
        assert resp.status == 400  # no action
    async with client.post(
        "/_emulator/faults", json={"path": "/x", "timeout": True, "hang_seconds": -1}
    ) as resp:
        assert resp.status == 400


async def test_every_response_carries_intuit_tid_and_is_logged(us: Api):
    paths = [us.url("term/1"), "/.well-known/openid_configuration", us.url("nope/1")]
    for path in paths:
        async with us.client.get(path, headers=us.headers) as resp:
            assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}", resp.headers["intuit_tid"])
    async with us.client.get("/_emulator/requests", params={"realm": US}) as resp:
        log = (await resp.json())["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("GET", "/v3/company/9130354840911234/term/1", 200),
        ("GET", "/v3/company/9130354840911234/nope/1", 400),
    ]
    assert log[0]["query"] == {}
    assert log[0]["realm"] == US
    assert log[0]["time"]


async def test_ignored_parameters_and_headers(us: Api):
    async with us.client.get(
        us.url("query"),
        params={"query": "select * from Term", "format": "json", "minorversion": "4"},
        headers={**us.headers, "Request-Id": "3d1b2f5e-0000-11ee-be56-0242ac120002"},
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json;charset=utf-8"
