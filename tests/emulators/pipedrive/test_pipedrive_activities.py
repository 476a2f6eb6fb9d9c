"""Activities (API v2): a done activity is added to a deal and listed by deal."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_a_done_activity_is_added_to_a_deal_and_listed_with_its_deal_only(
    client: TestClient,
) -> None:
    minted = await client.post("/_emulator/tokens", json={"scopes": ["activities:full"]})
    auth = {"Authorization": f"Bearer {(await minted.json())['access_token']}"}
    added = await client.post(
        "/api/v2/activities",
        json={"subject": "Invoice 1001 paid", "deal_id": 2, "done": True, "note": "<b>Paid</b>"},
        headers=auth,
    )
    activity = (await added.json())["data"]
    assert (activity["deal_id"], activity["done"], activity["type"]) == (2, True, "task")
    assert activity["marked_as_done_time"]

    on_deal = await (await client.get("/api/v2/activities?deal_id=2", headers=auth)).json()
    elsewhere = await (await client.get("/api/v2/activities?deal_id=3", headers=auth)).json()

    assert [a["subject"] for a in on_deal["data"]] == ["Invoice 1001 paid"]
    assert elsewhere["data"] == []


async def test_an_activity_on_a_missing_deal_or_without_the_scope_is_refused(
    client: TestClient,
) -> None:
    minted = await client.post("/_emulator/tokens", json={"scopes": ["deals:full"]})
    narrow = {"Authorization": f"Bearer {(await minted.json())['access_token']}"}
    refused = await client.post("/api/v2/activities", json={"deal_id": 1}, headers=narrow)
    assert refused.status == 403
    minted = await client.post("/_emulator/tokens", json={"scopes": ["activities:full"]})
    auth = {"Authorization": f"Bearer {(await minted.json())['access_token']}"}
    missing = await client.post("/api/v2/activities", json={"deal_id": 99999}, headers=auth)
    assert missing.status == 404
