"""Webhook v2 deliveries: payload shape (A6), Basic auth, retries, delete events."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from aiohttp.test_utils import TestClient
from pipedrive_test_support import Receiver

from emulators.pipedrive.state import Emulator


async def subscribe(
    client: TestClient, auth: dict[str, str], receiver: Receiver, **extra: Any
) -> dict[str, Any]:
    body = {
        "subscription_url": receiver.url,
        "event_action": "*",
        "event_object": "deal",
        "name": "deals",
        "http_auth_user": "hook-user",
        "http_auth_password": "hook-pass",
        **extra,
    }
    response = await client.post("/v1/webhooks", json=body, headers=auth)
    assert response.status == 201
    return (await response.json())["data"]


async def test_a_deal_change_through_the_api_is_delivered_as_webhook_v2(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    hook = await subscribe(client, auth, receiver)
    address = emulator.store.find_field(emulator.demo["company_id"], "deal", "Delivery address")
    assert address is not None
    patch = {"title": "New title", "custom_fields": {address.key: {"value": "Tallinn, Estonia"}}}
    assert (await client.patch("/api/v2/deals/3", json=patch, headers=auth)).status == 200
    await emulator.webhooks.drain()
    [call] = receiver.calls
    assert call["method"] == "POST"
    expected = base64.b64encode(b"hook-user:hook-pass").decode()
    assert call["headers"]["Authorization"] == f"Basic {expected}"
    payload = json.loads(call["body"])
    assert set(payload) == {"data", "previous", "meta"}
    meta = payload["meta"]
    assert meta["action"] == "change"
    assert meta["entity"] == "deal"
    assert meta["entity_id"] == "3"
    assert meta["webhook_id"] == str(hook["id"])
    assert meta["company_id"] == str(emulator.demo["company_id"])
    assert meta["version"] == "2.0"
    assert meta["change_source"] == "api"
    assert meta["type"] == "application"
    assert meta["attempt"] == 1
    assert meta["host"] == "acme-demo.pipedrive.com"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", meta["timestamp"])
    assert all(isinstance(meta[k], str) for k in ("company_id", "entity_id", "user_id", "id"))
    assert payload["data"]["title"] == "New title"
    assert payload["data"]["visible_to"] == "3"
    assert payload["data"]["custom_fields"][address.key]["type"] == "address"
    assert payload["data"]["custom_fields"][address.key]["value"] == "Tallinn, Estonia"
    assert payload["previous"]["title"] == "Initech TPS automation"
    assert payload["previous"]["custom_fields"] == {address.key: None}
    assert "value" not in payload["previous"]


async def test_an_admin_change_is_a_ui_change_and_typed_custom_fields_follow_the_guide(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    await subscribe(client, auth, receiver, event_action="change")
    company_id = emulator.demo["company_id"]
    contract = emulator.store.find_field(company_id, "deal", "Contract value")
    terms = emulator.store.find_field(company_id, "deal", "Payment terms")
    assert contract is not None
    assert terms is not None
    option = terms.data["options"][0]["id"]
    response = await client.patch(
        "/_emulator/deals/2",
        json={
            "value": 999,
            "custom_fields": {
                contract.key: {"value": 200, "currency": "EUR"},
                terms.key: option,
            },
        },
    )
    assert response.status == 200
    await emulator.webhooks.drain()
    payload = json.loads(receiver.calls[0]["body"])
    assert payload["meta"]["change_source"] == "app"
    fields = payload["data"]["custom_fields"]
    assert fields[contract.key] == {"type": "monetary", "value": 200, "currency": "EUR"}
    assert fields[terms.key] == {"id": option, "type": "enum"}
    assert payload["previous"]["value"] == 4609.78


async def test_deletes_carry_the_last_state_in_previous(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    await subscribe(client, auth, receiver, event_action="delete")
    await client.patch("/_emulator/deals/4", json={"title": "ignored by a delete-only hook"})
    assert (await client.delete("/_emulator/deals/4")).status == 200
    await emulator.webhooks.drain()
    [call] = receiver.calls
    payload = json.loads(call["body"])
    assert payload["meta"]["action"] == "delete"
    assert payload["data"] is None
    assert payload["previous"]["id"] == 4


async def test_failed_deliveries_are_retried_three_more_times(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    await subscribe(client, auth, receiver)
    receiver.statuses = [500, 502, 503]
    await client.patch("/api/v2/deals/1", json={"title": "Retry me"}, headers=auth)
    await emulator.webhooks.drain()
    attempts = [json.loads(c["body"])["meta"]["attempt"] for c in receiver.calls]
    assert attempts == [1, 2, 3, 4]
    log = await (await client.get("/_emulator/webhook-deliveries")).json()
    assert [d["status"] for d in log["deliveries"]] == [500, 502, 503, 200]
    hooks = await (await client.get("/v1/webhooks", headers=auth)).json()
    assert hooks["data"][0]["last_http_status"] == 200


async def test_subscriptions_filter_by_object_and_company(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    await subscribe(client, auth, receiver, event_object="person")
    await client.patch("/_emulator/deals/1", json={"title": "not a person"})
    await client.patch("/_emulator/persons/1", json={"name": "Greta Schmidt"})
    await emulator.webhooks.drain()
    [call] = receiver.calls
    payload = json.loads(call["body"])
    assert payload["meta"]["entity"] == "person"
    assert payload["previous"]["last_name"] == "Weber"


async def test_no_change_means_no_webhook(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    await subscribe(client, auth, receiver)
    await client.patch("/api/v2/deals/1", json={"currency": "EUR"}, headers=auth)
    await emulator.webhooks.drain()
    assert receiver.calls == []


async def test_a_deal_won_carries_in_previous_only_what_the_win_changed(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    await subscribe(client, auth, receiver, event_action="change")
    response = await client.patch("/_emulator/deals/3", json={"status": "won"})
    assert response.status == 200
    await emulator.webhooks.drain()
    [call] = receiver.calls
    payload = json.loads(call["body"])
    assert payload["data"]["status"] == "won"
    assert payload["data"]["won_time"] == payload["data"]["first_won_time"]
    assert payload["data"]["won_time"] is not None
    # "previous: only changed fields on change" (reference §9): the status and the times the
    # win set, nothing left as it was (no title, no stage).
    assert payload["previous"] == {
        "status": "open",
        "won_time": None,
        "close_time": None,
        "first_won_time": None,
    }


async def test_a_redelivered_event_keeps_its_id_and_counts_its_attempt(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    await subscribe(client, auth, receiver, event_action="change")
    await client.patch("/_emulator/deals/2", json={"stage_id": 3})
    await emulator.webhooks.drain()
    first = json.loads(receiver.calls[0]["body"])
    assert set(first["previous"]) == {"stage_id", "stage_change_time"}
    assert first["previous"]["stage_id"] != 3
    assert first["data"]["stage_id"] == 3
    response = await client.post(
        "/_emulator/webhook-deliveries/redeliver", json={"event_id": first["meta"]["id"]}
    )
    assert response.status == 200
    await emulator.webhooks.drain()
    again = json.loads(receiver.calls[1]["body"])
    assert again["meta"]["id"] == first["meta"]["id"]
    assert again["meta"]["attempt"] == 2
    assert again["data"] == first["data"]
    unknown = await client.post("/_emulator/webhook-deliveries/redeliver", json={"event_id": "x"})
    assert unknown.status == 404


async def test_a_deal_added_through_the_api_is_delivered_as_a_create_with_no_previous(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    await subscribe(client, auth, receiver, event_action="create")
    await client.patch(
        "/api/v2/deals/1", json={"title": "a change: not for this hook"}, headers=auth
    )
    body = {"title": "Imported won", "status": "won", "stage_id": 4, "currency": "USD"}
    response = await client.post("/api/v2/deals", json=body, headers=auth)
    deal = (await response.json())["data"]
    await emulator.webhooks.drain()
    [call] = receiver.calls
    payload = json.loads(call["body"])
    assert payload["previous"] is None  # "null on create" (reference §9)
    meta = payload["meta"]
    assert (meta["action"], meta["entity"], meta["entity_id"]) == (
        "create",
        "deal",
        str(deal["id"]),
    )
    assert meta["change_source"] == "api"
    data = payload["data"]
    assert (data["status"], data["stage_id"], data["pipeline_id"]) == ("won", 4, 1)
    assert data["won_time"] == data["first_won_time"] == deal["won_time"]
    assert data["visible_to"] == "3"
    assert data["origin"] == "API"


async def test_an_admin_added_deal_has_its_products_when_its_create_is_delivered(
    client: TestClient, auth: dict[str, str], receiver: Receiver, emulator: Emulator
) -> None:
    await subscribe(client, auth, receiver, event_action="create")
    products = [{"name": "Setup", "item_price": 500, "quantity": 2}]
    response = await client.post(
        "/_emulator/deals",
        json={"title": "Web form deal", "currency": "USD", "org_id": 3, "products": products},
    )
    assert response.status == 201, await response.text()
    deal = (await response.json())["data"]
    await emulator.webhooks.drain()
    [call] = receiver.calls
    payload = json.loads(call["body"])
    assert payload["meta"]["change_source"] == "app"
    assert payload["data"]["origin"] == "ManuallyCreated"
    assert payload["data"]["org_id"] == 3
    lines = await (await client.get(f"/api/v2/deals/{deal['id']}/products", headers=auth)).json()
    assert [(p["name"], p["sum"]) for p in lines["data"]] == [("Setup", 1000)]

    refused = await client.post(
        "/_emulator/deals", json={"title": "Bad", "products": [{"name": "No price"}]}
    )
    assert refused.status == 400
    await emulator.webhooks.drain()
    assert len(receiver.calls) == 1  # nothing half-made was announced
    listed = await (await client.get("/api/v2/deals?limit=500", headers=auth)).json()
    assert "Bad" not in [d["title"] for d in listed["data"]]
