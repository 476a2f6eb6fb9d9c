"""The `/_emulator/` control API: seed, reset, faults, request log, clock, tokens."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from emulators.pipedrive.state import Emulator

SEED = {
    "company": {"name": "Seeded SAS", "domain": "seeded", "country": "FR"},
    "users": [
        {"name": "Admin", "email": "a@seeded.test", "is_admin": True, "locale": "fr_FR"},
        {"name": "Rep", "email": "r@seeded.test"},
    ],
    "fields": {
        "organization": [{"name": "VAT number", "field_type": "varchar"}],
        "deal": [
            {"name": "PO number", "field_type": "varchar"},
            {"name": "Budget", "field_type": "monetary"},
        ],
    },
    "organizations": [
        {"name": "Client SA", "address": "1 Rue X, Paris", "custom_fields": {"VAT number": "FR1"}}
    ],
    "persons": [{"name": "Jean Client", "org_index": 0, "emails": ["jean@client.example"]}],
    "deals": [
        {
            "title": "Seeded deal",
            "currency": "EUR",
            "org_index": 0,
            "person_index": 0,
            "custom_fields": {"PO number": "PO-7", "Budget": {"value": 50, "currency": "EUR"}},
            "products": [
                {"name": "Thing", "item_price": 10, "quantity": 3, "tax": 20},
                {"name": "Other", "item_price": 5, "discount": 1, "discount_type": "amount"},
            ],
            "discounts": [{"description": "10%", "amount": 10, "type": "percentage"}],
        }
    ],
}


async def test_seed_creates_a_company_and_returns_every_id(client: TestClient) -> None:
    response = await client.post("/_emulator/seed", json=SEED)
    assert response.status == 201
    ids = await response.json()
    assert ids["company_domain"] == "seeded"
    assert len(ids["users"]) == 2
    assert len(ids["fields"]["deal"]["PO number"]) == 40
    headers = {"x-api-token": ids["users"][0]["api_token"]}
    deal_id = ids["deals"][0]
    deal = (await (await client.get(f"/api/v2/deals/{deal_id}", headers=headers)).json())["data"]
    assert deal["value"] == 34  # 3 x 10 + (5 - 1), tax excluded
    assert deal["custom_fields"][ids["fields"]["deal"]["PO number"]] == "PO-7"
    assert deal["org_id"] == ids["organizations"][0]
    assert deal["person_id"] == ids["persons"][0]
    products = await (await client.get(f"/api/v2/deals/{deal_id}/products", headers=headers)).json()
    assert [p["id"] for p in products["data"]] == ids["deal_products"][str(deal_id)]
    me = (await (await client.get("/v1/users/me", headers=headers)).json())["data"]
    assert me["company_id"] == ids["company_id"]
    assert me["locale"] == "fr_FR"


async def test_bad_seeds_are_refused(client: TestClient) -> None:
    for payload in (
        {"deals": [{"title": "x", "org_index": 9}]},
        {"fields": {"deal": [{"name": "x", "field_type": "galaxy"}]}},
        {"company_id": 1},
        {"organizations": [{"name": "x", "custom_fields": {"nope": 1}}]},
    ):
        response = await client.post("/_emulator/seed", json=payload)
        assert response.status in (400, 404), payload


async def test_reset_forgets_everything_and_reseeds_the_demo(
    client: TestClient, auth: dict[str, str]
) -> None:
    await client.post("/v1/notes", json={"deal_id": 1, "content": "x"}, headers=auth)
    body = await (await client.post("/_emulator/reset")).json()
    assert body["demo"]["deals"] == [1, 2, 3, 4, 5, 6]
    assert (await client.get("/v1/notes", headers=auth)).status == 401  # tokens are gone too
    empty = await (await client.post("/_emulator/reset", json={"seed": False})).json()
    assert empty["demo"] is None


async def test_a_status_fault_answers_instead_of_the_api_a_limited_number_of_times(
    client: TestClient, auth: dict[str, str]
) -> None:
    fault = await client.post(
        "/_emulator/faults",
        json={"method": "GET", "path": r"^/api/v2/deals/\d+$", "status": 503, "count": 2},
    )
    assert fault.status == 201
    first = await client.get("/api/v2/deals/1", headers=auth)
    assert first.status == 503
    assert (await first.json())["success"] is False
    assert (await client.get("/api/v2/deals/1/products", headers=auth)).status == 200
    assert (await client.get("/api/v2/deals/2", headers=auth)).status == 503
    assert (await client.get("/api/v2/deals/2", headers=auth)).status == 200
    listed = await (await client.get("/_emulator/faults")).json()
    assert listed["faults"][0]["hits"] == 2


async def test_a_fault_can_serve_a_cloudflare_html_403(
    client: TestClient, auth: dict[str, str]
) -> None:
    await client.post(
        "/_emulator/faults",
        json={"path": "/api/v2/", "status": 403, "body": "<html>Cloudflare</html>"},
    )
    response = await client.get("/api/v2/deals/1", headers=auth)
    assert response.status == 403
    assert response.content_type == "text/html"
    await client.delete("/_emulator/faults")
    assert (await client.get("/api/v2/deals/1", headers=auth)).status == 200


async def test_latency_faults_delay_the_answer(client: TestClient, auth: dict[str, str]) -> None:
    await client.post("/_emulator/faults", json={"path": "/v1/users/me", "latency_ms": 200})
    started = time.monotonic()
    response = await client.get("/v1/users/me", headers=auth)
    assert response.status == 200
    assert time.monotonic() - started >= 0.2


async def test_a_drop_fault_commits_the_write_but_loses_the_response(
    client: TestClient, auth: dict[str, str]
) -> None:
    await client.post(
        "/_emulator/faults",
        json={"method": "POST", "path": "^/v1/notes$", "drop": True, "count": 1},
    )
    with pytest.raises((aiohttp.ClientError, asyncio.TimeoutError)):
        await client.post("/v1/notes", json={"deal_id": 4, "content": "lost"}, headers=auth)
    notes = await (await client.get("/v1/notes?deal_id=4", headers=auth)).json()
    assert [n["content"] for n in notes["data"]] == ["lost"]


async def test_probability_zero_never_fires(client: TestClient, auth: dict[str, str]) -> None:
    await client.post("/_emulator/faults", json={"path": ".", "status": 500, "probability": 0})
    assert (await client.get("/v1/users/me", headers=auth)).status == 200
    bad = await client.post("/_emulator/faults", json={"path": "(", "status": 500})
    assert bad.status == 400


async def test_the_request_log_records_api_calls(client: TestClient, auth: dict[str, str]) -> None:
    await client.get("/api/v2/deals/1?include_fields=products_count", headers=auth)
    await client.post("/v1/notes", json={"deal_id": 1, "content": "hello"}, headers=auth)
    log = await (await client.get("/_emulator/requests?path=notes")).json()
    [entry] = log["requests"]
    assert entry["method"] == "POST"
    assert entry["status"] == 200
    assert entry["auth"] == "oauth"
    assert '"hello"' in entry["body"]
    everything = await (await client.get("/_emulator/requests")).json()
    assert everything["requests"][0]["query"] == {"include_fields": "products_count"}
    assert everything["requests"][0]["headers"]["Authorization"].endswith("...")


async def test_the_clock_can_be_set_and_advanced(client: TestClient, emulator: Emulator) -> None:
    body = await (
        await client.post("/_emulator/clock", json={"now": "2030-01-01T00:00:00Z", "frozen": True})
    ).json()
    assert body["now"] == "2030-01-01T00:00:00.000Z"
    body = await (await client.post("/_emulator/clock", json={"advance_seconds": 90})).json()
    assert body["now"] == "2030-01-01T00:01:30.000Z"
    headers = {"x-api-token": emulator.demo["users"][0]["api_token"]}
    response = await client.patch("/api/v2/deals/1", json={"title": "Later"}, headers=headers)
    assert (await response.json())["data"]["update_time"] == "2030-01-01T00:01:30Z"


async def test_tokens_can_be_minted_for_a_given_user_scopes_and_lifetime(
    client: TestClient, demo: dict[str, Any], emulator: Emulator
) -> None:
    user_id = demo["users"][2]["id"]
    minted = await (
        await client.post(
            "/_emulator/tokens", json={"user_id": user_id, "scopes": ["base"], "expires_in": 10}
        )
    ).json()
    assert minted["user_id"] == user_id
    assert minted["company_id"] == demo["company_id"]
    assert minted["scope"] == "base"
    assert minted["expires_in"] == 10
    assert minted["api_domain"].startswith("http://127.0.0.1:")
    headers = {"Authorization": f"Bearer {minted['access_token']}"}
    me = (await (await client.get("/v1/users/me", headers=headers)).json())["data"]
    assert me["default_currency"] == "USD"
    emulator.clock.advance(11)
    assert (await client.get("/v1/users/me", headers=headers)).status == 401


async def test_admin_errors_are_json(client: TestClient) -> None:
    missing = await client.patch("/_emulator/deals/999", json={"title": "x"})
    assert missing.status == 404
    invalid = await client.patch("/_emulator/deals/1", json={"value": "x"})
    assert invalid.status == 400
    assert "error" in await invalid.json()
