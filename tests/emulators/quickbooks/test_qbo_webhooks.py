"""Webhooks: the F7 signature vector, classic and CloudEvents payloads, batching, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import pytest
import qbo_fixtures as fx
from aiohttp import web
from aiohttp.test_utils import TestServer

from conftest import US, Api
from emulators.quickbooks.store import Change
from emulators.quickbooks.webhooks import classic_payload, sign


def test_signature_matches_the_intuit_java_sdk_vector():
    assert sign(fx.F7_BODY, fx.F7_VERIFIER_TOKEN) == fx.F7_SIGNATURE


def test_classic_payload_has_the_f7_shape():
    from datetime import UTC, datetime

    change = Change(
        "1185883450", "Customer", "1", "Create", datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC)
    )
    payload = classic_payload("1185883450", [change])
    expected = json.loads(fx.F7_BODY)
    assert payload.keys() == expected.keys()
    notification = payload["eventNotifications"][0]
    assert notification.keys() == expected["eventNotifications"][0].keys()
    entity = notification["dataChangeEvent"]["entities"][0]
    assert (
        entity.keys() == expected["eventNotifications"][0]["dataChangeEvent"]["entities"][0].keys()
    )
    assert entity["lastUpdated"] == "2015-10-05T21:42:19.000Z"


class Receiver:
    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.append((dict(request.headers), body))
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/quickbooks", rec.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield rec, str(server.make_url("/hooks/quickbooks"))
    await server.close()


async def configure(api: Api, url: str, **extra) -> None:
    async with api.client.put(
        "/_emulator/webhooks",
        json={"url": url, "verifier_token": "verifier-x", "aggregation_seconds": 0.05, **extra},
    ) as resp:
        assert resp.status == 200


async def flush(api: Api) -> list[dict]:
    async with api.client.post("/_emulator/webhooks/flush", json={"timeout": 5}) as resp:
        return (await resp.json())["deliveries"]


def verify(headers: dict[str, str], body: bytes) -> bool:
    expected = base64.b64encode(hmac.new(b"verifier-x", body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["intuit-signature"])


async def test_classic_delivery_is_signed_and_batches_close_changes(us: Api, receiver):
    rec, url = receiver
    await configure(us, url)
    invoice = await us.create_invoice()
    await us.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "n"}
    )
    await flush(us)
    assert len(rec.calls) == 1
    headers, body = rec.calls[0]
    assert verify(headers, body)
    assert headers["intuit-notification-schema-version"] == "0.1"
    assert headers["User-Agent"] == "intuit_notification_server/0.1"
    payload = json.loads(body)
    notification = payload["eventNotifications"][0]
    assert notification["realmId"] == US
    ops = [
        (e["name"], e["id"], e["operation"]) for e in notification["dataChangeEvent"]["entities"]
    ]
    assert ops == [("Invoice", invoice["Id"], "Create"), ("Invoice", invoice["Id"], "Update")]


async def test_cloudevents_delivery_has_f8_shape(us: Api, receiver):
    rec, url = receiver
    await configure(us, url, format="cloudevents")
    invoice = await us.create_invoice()
    await us.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")
    await flush(us)
    headers, body = rec.calls[0]
    assert verify(headers, body)
    events = json.loads(body)
    assert isinstance(events, list)
    assert set(events[0]) == set(fx.F8_CLOUDEVENTS[0])
    assert [e["type"] for e in events] == ["qbo.invoice.created.v1", "qbo.invoice.voided.v1"]
    assert events[0]["intuitaccountid"] == US
    assert events[0]["intuitentityid"] == invoice["Id"]
    assert events[0]["specversion"] == "1.0"
    assert events[0]["source"].startswith("intuit.")
    assert events[0]["id"] != events[1]["id"]


async def test_failed_delivery_is_retried_and_blocks_later_events(us: Api, receiver):
    rec, url = receiver
    rec.fail_first = 2
    await configure(us, url, retry_scale=0.001)
    await us.create_invoice()
    await flush(us)
    await us.create_invoice()
    deliveries = await flush(us)
    assert [d["delivered"] for d in deliveries] == [False, False, True, True]
    assert [d["attempt"] for d in deliveries] == [1, 2, 3, 1]
    assert rec.calls[0][1] == rec.calls[2][1]  # the same body again


async def test_admin_payment_triggers_payment_and_invoice_events(us: Api, receiver):
    rec, url = receiver
    invoice = await us.create_invoice()
    await configure(us, url)
    async with us.client.post(
        f"/_emulator/companies/{US}/payments", json={"invoice_id": invoice["Id"], "amount": 30}
    ) as resp:
        paid = await resp.json()
    assert paid["Invoice"]["Balance"] == 70.0
    await flush(us)
    entities = json.loads(rec.calls[0][1])["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert [(e["name"], e["operation"]) for e in entities] == [
        ("Payment", "Create"),
        ("Invoice", "Update"),
    ]


async def test_disabled_webhooks_deliver_nothing(us: Api, receiver):
    rec, url = receiver
    await configure(us, url, enabled=False)
    await us.create_invoice()
    await flush(us)
    assert rec.calls == []
