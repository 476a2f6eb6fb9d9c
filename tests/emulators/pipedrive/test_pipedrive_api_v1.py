"""API v1: users/me, currencies, notes and webhook subscriptions."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

HOOK = {
    "subscription_url": "https://app.example/hooks",
    "event_action": "change",
    "event_object": "deal",
    "name": "Deal changes",
}


async def test_users_me_tells_company_id_and_domain(
    client: TestClient, auth: dict[str, str], demo: dict[str, Any]
) -> None:
    for prefix in ("/v1", "/api/v1"):
        body = await (await client.get(f"{prefix}/users/me", headers=auth)).json()
        me = body["data"]
        assert me["company_id"] == demo["company_id"]
        assert me["company_domain"] == "acme-demo"
        assert me["locale"] == "en_US"
        assert me["language"] == {"language_code": "en", "country_code": "US"}
        assert me["is_you"] is True


async def test_users_me_reflects_a_french_user(client: TestClient, demo: dict[str, Any]) -> None:
    bruno = demo["users"][1]
    body = await (
        await client.get("/v1/users/me", headers={"x-api-token": bruno["api_token"]})
    ).json()
    assert body["data"]["locale"] == "fr_FR"
    assert body["data"]["timezone_name"] == "Europe/Paris"
    assert body["data"]["access"][0]["admin"] is False


async def test_currencies_can_be_searched(client: TestClient, auth: dict[str, str]) -> None:
    body = await (await client.get("/v1/currencies?term=yen", headers=auth)).json()
    assert [c["code"] for c in body["data"]] == ["JPY"]
    assert body["data"][0]["decimal_points"] == 0


async def test_notes_are_created_on_a_deal_and_listed_by_deal(
    client: TestClient, auth: dict[str, str]
) -> None:
    created = await client.post(
        "/v1/notes",
        json={
            "deal_id": 1,
            "content": '<p onclick="x()">Invoice <b>INV-1</b></p><script>1</script>',
            "pinned_to_deal_flag": 1,
        },
        headers=auth,
    )
    note = (await created.json())["data"]
    assert created.status == 200
    assert note["content"] == "<p>Invoice <b>INV-1</b></p>"
    assert note["deal"] == {"title": "Globex website relaunch"}
    assert note["pinned_to_deal_flag"] is True
    assert len(note["add_time"]) == 19
    assert note["add_time"][10] == " "
    listed = await (await client.get("/v1/notes?deal_id=1", headers=auth)).json()
    assert [n["id"] for n in listed["data"]] == [note["id"]]
    assert listed["additional_data"]["pagination"]["more_items_in_collection"] is False
    empty = await (await client.get("/v1/notes?deal_id=3", headers=auth)).json()
    assert empty["data"] is None


async def test_notes_accept_form_bodies_and_paginate(
    client: TestClient, auth: dict[str, str]
) -> None:
    for index in range(3):
        response = await client.post(
            "/v1/notes", data={"deal_id": "2", "content": f"n{index}"}, headers=auth
        )
        assert response.status == 200
    page = await (await client.get("/v1/notes?deal_id=2&limit=2", headers=auth)).json()
    assert page["additional_data"]["pagination"] == {
        "start": 0,
        "limit": 2,
        "more_items_in_collection": True,
        "next_start": 2,
    }


async def test_note_errors(client: TestClient, auth: dict[str, str]) -> None:
    missing = await client.post("/v1/notes", json={"deal_id": 1}, headers=auth)
    assert missing.status == 400
    assert (await missing.json())["success"] is False
    nowhere = await client.post("/v1/notes", json={"content": "x"}, headers=auth)
    assert nowhere.status == 400
    unknown = await client.post("/v1/notes", json={"content": "x", "deal_id": 999}, headers=auth)
    assert unknown.status == 400
    gone = await client.get("/v1/notes/999", headers=auth)
    assert gone.status == 404


async def test_webhooks_created_by_an_app_are_typed_application_and_scoped_to_it(
    client: TestClient, auth: dict[str, str], api_token: str
) -> None:
    created = await client.post(
        "/v1/webhooks",
        json={**HOOK, "http_auth_user": "u", "http_auth_password": "p"},
        headers=auth,
    )
    body = await created.json()
    assert created.status == 201
    assert body["status"] == "ok"
    hook = body["data"]
    assert hook["type"] == "application"
    assert hook["version"] == "2.0"
    assert hook["is_active"] == 1
    assert hook["http_auth_user"] == "u"
    general = await client.post("/v1/webhooks", json=HOOK, headers={"x-api-token": api_token})
    assert (await general.json())["data"]["type"] == "general"
    app_view = await (await client.get("/v1/webhooks", headers=auth)).json()
    assert [h["id"] for h in app_view["data"]] == [hook["id"]]
    admin_view = await (await client.get("/v1/webhooks", headers={"x-api-token": api_token})).json()
    assert len(admin_view["data"]) == 2
    deleted = await client.delete(f"/v1/webhooks/{hook['id']}", headers=auth)
    assert await deleted.json() == {"status": "ok", "success": True}
    again = await client.delete(f"/v1/webhooks/{hook['id']}", headers=auth)
    assert again.status == 404
    assert await again.json() == {
        "status": "error",
        "success": False,
        "errors": {"id": ["not found"]},
    }


async def test_webhook_validation_uses_the_errors_shape(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/webhooks",
        json={**HOOK, "subscription_url": "ftp://nope", "event_object": "invoice"},
        headers=auth,
    )
    body = await response.json()
    assert response.status == 400
    assert body["status"] == "error"
    assert body["errors"]["subscription_url"] == ["invalid or non-reachable URL"]
    assert "event_object" in body["errors"]
    missing = await (await client.post("/v1/webhooks", json={}, headers=auth)).json()
    assert set(missing["errors"]) == {"subscription_url", "event_action", "event_object", "name"}
