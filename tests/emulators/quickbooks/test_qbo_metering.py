"""App Partner Program metering: Core and CorePlus calls per app, realm, month and kind, the
admin endpoint that lists them, and the monthly CorePlus quota (429 once it is used up)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from conftest import UK, US, Api, Limits, make_config
from emulators.quickbooks.app import create_app
from emulators.quickbooks.metering import CORE, COREPLUS, classify

APP = "dealbooks-demo-client"
THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"


async def meter(client: TestClient, **params: str) -> dict[str, Any]:
    async with client.get("/_emulator/meter", params=params) as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


def realm_row(report: dict[str, Any], realm: str) -> dict[str, Any]:
    (app,) = [a for a in report["apps"] if a["client_id"] == APP]
    (row,) = [r for r in app["realms"] if r["realm_id"] == realm]
    return dict(row)


async def at(client: TestClient, when: str) -> None:
    async with client.post("/_emulator/clock", json={"now": when, "freeze": True}) as resp:
        assert resp.status == 200


async def connect(client: TestClient, realm: str) -> Api:
    async with client.post("/_emulator/tokens", json={"realm_id": realm}) as resp:
        return Api(client, realm, (await resp.json())["access_token"])


@pytest.mark.parametrize(
    ("method", "tail", "query", "body", "kind", "tier"),
    [
        ("GET", "invoice/7", {}, b"", "read:Invoice", COREPLUS),
        ("GET", "companyinfo/123", {}, b"", "read:CompanyInfo", COREPLUS),
        ("GET", "preferences", {}, b"", "read:Preferences", COREPLUS),
        ("GET", "query", {"query": "select * from Item"}, b"", "query:Item", COREPLUS),
        ("POST", "query", {}, b"SELECT * FROM invoice WHERE Id = '1'", "query:Invoice", COREPLUS),
        ("GET", "cdc", {"entities": "Invoice"}, b"", "cdc", COREPLUS),
        ("GET", "reports/ProfitAndLoss", {}, b"", "reports", COREPLUS),
        ("GET", "invoice/7/pdf", {}, b"", "pdf:Invoice", COREPLUS),
        ("GET", "exchangerate", {}, b"", "read:ExchangeRate", COREPLUS),
        ("POST", "invoice", {}, b'{"Line": []}', "create:Invoice", CORE),
        ("POST", "invoice", {}, b'{"Id": "7", "sparse": true}', "update:Invoice", CORE),
        ("POST", "invoice", {"operation": "void"}, b'{"Id": "7"}', "void:Invoice", CORE),
        ("POST", "invoice", {"operation": "delete"}, b'{"Id": "7"}', "delete:Invoice", CORE),
        ("POST", "invoice/7/send", {}, b"", "send:Invoice", CORE),
        ("POST", "preferences", {}, b"{}", "update:Preferences", CORE),
        ("POST", "batch", {}, b'{"BatchItemRequest": [{"bId": "1", "Query": "x"}]}', "batch",
         COREPLUS),
        ("POST", "batch", {}, b'{"BatchItemRequest": [{"bId": "1", "Invoice": {}}]}', "batch",
         CORE),
    ],
)  # fmt: skip
def test_calls_are_classified_as_intuit_meters_them(method, tail, query, body, kind, tier):
    call = classify(method, tail, query, body)
    assert (call.kind, call.tier) == (kind, tier)


async def test_meter_counts_core_and_coreplus_calls_by_kind_per_app_and_realm(client):
    await at(client, "2026-03-10T12:00:00Z")
    us, uk = await connect(client, US), await connect(client, UK)
    invoice = await us.create_invoice()
    assert (await us.get(f"invoice/{invoice['Id']}"))[0] == 200
    assert (await us.query("select * from Item"))[0] == 200
    assert (await us.query("select * from Item where Active = true"))[0] == 200
    assert (await us.get("cdc", entities="Invoice", changedSince="2026-03-09"))[0] == 200
    assert (await us.get("invoice/999999"))[0] == 400  # 610: answered, so counted
    status, voided = await us.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="void"
    )
    assert status == 200, voided
    assert (await uk.get("preferences"))[0] == 200

    report = await meter(client)
    assert report["month"] == "2026-03"
    (app,) = report["apps"]
    assert (app["client_id"], app["core"], app["coreplus"]) == (APP, 2, 6)
    assert app["coreplus_quota"] is None
    assert app["coreplus_remaining"] is None
    assert realm_row(report, US) == {
        "realm_id": US,
        "core": 2,
        "coreplus": 5,
        "kinds": {
            "cdc": {"tier": "coreplus", "calls": 1},
            "create:Invoice": {"tier": "core", "calls": 1},
            "query:Item": {"tier": "coreplus", "calls": 2},
            "read:Invoice": {"tier": "coreplus", "calls": 2},
            "void:Invoice": {"tier": "core", "calls": 1},
        },
    }
    only_uk = await meter(client, realm=UK)
    assert [r["realm_id"] for r in only_uk["apps"][0]["realms"]] == [UK]
    assert realm_row(only_uk, UK)["kinds"] == {"read:Preferences": {"tier": "coreplus", "calls": 1}}
    assert (await meter(client, month="2026-02"))["apps"] == []


async def test_admin_and_oauth_calls_and_refused_calls_are_not_metered(client):
    await at(client, "2026-03-10T12:00:00Z")
    us = await connect(client, US)
    await client.get("/_emulator/companies")
    await client.get("/.well-known/openid_sandbox_configuration")
    bad = Api(client, US, "not-a-token")
    assert (await bad.get("term/1"))[0] == 401
    assert (await us.get("term/1"))[0] == 200
    assert realm_row(await meter(client), US)["coreplus"] == 1


async def test_throttled_calls_are_not_metered():
    client = TestClient(TestServer(create_app(make_config(limits=Limits(requests_per_second=2)))))
    await client.start_server()
    try:
        us = await connect(client, US)
        statuses = [(await us.get("term/1"))[0] for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert realm_row(await meter(client), US)["kinds"] == {
            "read:Term": {"tier": "coreplus", "calls": 2}
        }
    finally:
        await client.close()


async def test_at_the_quota_reads_get_429_writes_go_on_and_next_month_reads_work_again(client):
    await at(client, "2026-03-31T23:00:00Z")
    async with client.put("/_emulator/meter/quota", json={"coreplus_per_month": 2}) as resp:
        assert resp.status == 200
        assert await resp.json() == {"client_id": APP, "coreplus_per_month": 2}
    us, uk = await connect(client, US), await connect(client, UK)
    assert (await us.get("term/1"))[0] == 200
    assert (await uk.get("preferences"))[0] == 200  # the quota is the app's, across realms

    status, body = await us.get("term/1")
    assert status == 429
    error = body["Fault"]["Error"][0]
    assert (error["code"], error["Message"]) == ("3001", THROTTLE_MESSAGE)
    assert (await us.query("select * from Invoice"))[0] == 429
    assert (await uk.get("cdc", entities="Invoice", changedSince="2026-03-30"))[0] == 429
    invoice = await us.create_invoice()  # Core calls are not blocked
    status, _ = await us.post("invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True})
    assert status == 200

    report = await meter(client)
    (app,) = report["apps"]
    assert (app["core"], app["coreplus"], app["coreplus_remaining"]) == (2, 2, 0)

    await at(client, "2026-04-01T00:00:01Z")
    us = await connect(client, US)  # the March token expired with the hour
    assert (await us.get(f"invoice/{invoice['Id']}"))[0] == 200
    april = await meter(client)
    assert april["month"] == "2026-04"
    assert (april["apps"][0]["coreplus"], april["apps"][0]["coreplus_remaining"]) == (1, 1)
    march = await meter(client, month="2026-03")
    assert march["apps"][0]["coreplus"] == 2


async def test_quota_from_config_survives_reset_and_can_be_lifted(config):
    config.coreplus_monthly_quota = 0
    client = TestClient(TestServer(create_app(config)))
    await client.start_server()
    try:
        us = await connect(client, US)
        assert (await us.get("term/1"))[0] == 429
        async with client.post("/_emulator/reset", json={}) as resp:
            assert resp.status == 200
        us = await connect(client, US)
        assert (await us.get("term/1"))[0] == 429
        async with client.put("/_emulator/meter/quota", json={"coreplus_per_month": None}):
            pass
        assert (await us.get("term/1"))[0] == 200
        async with client.delete("/_emulator/meter") as resp:
            assert resp.status == 200
        assert (await meter(client))["apps"] == []
    finally:
        await client.close()


@pytest.mark.parametrize("bad", [-1, "10", 1.5, True])
async def test_quota_must_be_a_count(client, bad):
    async with client.put("/_emulator/meter/quota", json={"coreplus_per_month": bad}) as resp:
        assert resp.status == 400


async def test_meter_month_must_be_a_month(client):
    async with client.get("/_emulator/meter", params={"month": "March"}) as resp:
        assert resp.status == 400
