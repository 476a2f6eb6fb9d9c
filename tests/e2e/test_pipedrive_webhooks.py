"""Pipedrive webhooks: subscribed by the install, a deleted organization loses its customer link,
a deleted deal keeps its invoices, and only our subscription's Basic credentials are accepted."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import aiohttp
import grpc
import pytest
from sqlalchemy import text

from dealbooks.v1 import (
    customer_service_pb2,
    customer_service_pb2_grpc,
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
)
from entrypoints.emulated import DEMO_COMPANY, Emulators
from entrypoints.service import Service
from tests.e2e.polling import eventually
from tests.e2e.test_journey import DEAL, MD, world  # noqa: F401 - the fixture
from tests.e2e.test_settings_api import error_of
from tests.e2e.test_status_sync import create

pytestmark = pytest.mark.e2e


async def found_link(
    links: customer_service_pb2_grpc.CustomerServiceStub, name: str
) -> customer_service_pb2.GetCustomerLinkResponse | None:
    try:
        return await links.GetCustomerLink(
            customer_service_pb2.GetCustomerLinkRequest(name=name), metadata=MD
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() is grpc.StatusCode.NOT_FOUND:
            return None
        raise


async def test_deleting_an_organization_unlinks_it_and_a_deleted_deal_keeps_its_invoices(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.container is not None
    assert service.grpc is not None
    deal = await service.container.gateways.crm().get_deal(DEMO_COMPANY, "3")
    org_id = deal.organization_id
    assert org_id is not None
    minted = await emulators.admin("pipedrive", "POST", "tokens")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{emulators.pipedrive_url}/v1/webhooks",
            headers={"Authorization": f"Bearer {minted['access_token']}"},
            json={
                "subscription_url": f"http://127.0.0.1:{service.http_port_bound}/webhooks/pipedrive",
                "event_action": "delete",
                "event_object": "*",
                "name": "dealbooks",
                "http_auth_user": "dealbooks",
                "http_auth_password": "dealbooks-demo-secret",
                "version": "2.0",
            },
        ) as resp,
    ):
        assert resp.status == 201, await resp.text()
    link_name = f"companies/{DEMO_COMPANY}/organizations/{org_id}/customerLink"

    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        invoice = await create(channel, "pd-hook")
        links = customer_service_pb2_grpc.CustomerServiceStub(channel)
        # The deal follow-up job remembers the link once QuickBooks has the invoice.
        linked = await eventually(
            lambda: found_link(links, link_name), lambda link: link is not None
        )
        assert linked is not None
        assert linked.link.quickbooks_customer_id

        await emulators.admin("pipedrive", "DELETE", f"organizations/{org_id}")
        await emulators.admin("pipedrive", "DELETE", "deals/3")
        await emulators.admin("pipedrive", "POST", "webhooks/drain")

        code, _, _ = await error_of(
            links.GetCustomerLink(
                customer_service_pb2.GetCustomerLinkRequest(name=link_name), metadata=MD
            )
        )
        assert code is grpc.StatusCode.NOT_FOUND
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        still = await invoices.GetInvoice(
            invoice_service_pb2.GetInvoiceRequest(name=invoice.name), metadata=MD
        )
        listed = await invoices.ListInvoices(
            invoice_service_pb2.ListInvoicesRequest(parent=DEAL), metadata=MD
        )
    assert still.invoice.state == invoice_pb2.INVOICE_STATE_OPEN
    assert [i.name for i in listed.invoices] == [invoice.name]
    deliveries = await emulators.admin("pipedrive", "GET", "webhook-deliveries")
    assert deliveries


async def test_wrong_credentials_are_401_and_a_malformed_body_is_400(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, _ = world
    url = f"http://127.0.0.1:{service.http_port_bound}/webhooks/pipedrive"
    good = {
        "Authorization": "Basic " + base64.b64encode(b"dealbooks:dealbooks-demo-secret").decode()
    }
    bad = {"Authorization": "Basic " + base64.b64encode(b"x:y").decode()}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"meta": {}}, headers=bad) as r:
            assert r.status == 401
        async with http.post(url, data=b"{not json", headers=good) as r:
            assert r.status == 400
            assert r.headers["Content-Type"].startswith("application/problem+json")
        async with http.post(url, json={"meta": {"action": "delete"}}, headers=good) as r:
            assert r.status == 400


async def install_through_oauth(http: aiohttp.ClientSession, service: Service, base: str) -> None:
    """What a Pipedrive admin's click on "Install" does: consent, then our callback."""
    callback = f"{service.settings.public_url}/oauth/pipedrive/callback"
    async with http.get(
        f"{base}/oauth/authorize",
        params={"client_id": service.settings.pipedrive.client_id, "redirect_uri": callback},
        allow_redirects=False,
    ) as consent:
        assert consent.status == 302
        location = consent.headers["Location"]
    assert location.startswith(f"{callback}?code=")
    async with http.get(location, allow_redirects=False) as landing:
        assert landing.status == 302, await landing.text()  # to the app's settings page


async def _scalars(service: Service, sql: str) -> list[Any]:
    assert service.container is not None
    async with service.container.gateways.engine().connect() as conn:
        return list((await conn.execute(text(sql))).scalars())


async def jobs_before_the_test(service: Service, seconds: float = 30) -> int:
    """The last subscription job queued before the test, once the daily check of every
    company's webhooks is done: a service started within minutes of its 03:23 cron queues it
    (procrastinate catches up on a periodic task it missed) and it queues a subscription job of
    its own, which the test must not count as an install's."""
    deadline = time.monotonic() + seconds
    while await _scalars(
        service,
        "SELECT id FROM procrastinate_jobs WHERE task_name = 'check_crm_webhooks' "
        "AND status IN ('todo', 'doing')",
    ):
        assert time.monotonic() < deadline, "the daily webhook check never ended"
        await asyncio.sleep(0.2)
    found = await _scalars(
        service,
        "SELECT coalesce(max(id), 0) FROM procrastinate_jobs "
        "WHERE task_name = 'subscribe_crm_webhooks'",
    )
    return int(found[0])


async def subscription_jobs(
    service: Service, done: int, after: int = 0, seconds: float = 30
) -> list[str]:
    """The statuses of the subscription jobs queued after job ``after``, once ``done``
    succeeded (or one failed)."""
    deadline = time.monotonic() + seconds
    while True:
        statuses = [
            str(s)
            for s in await _scalars(
                service,
                "SELECT status FROM procrastinate_jobs WHERE task_name = "
                f"'subscribe_crm_webhooks' AND id > {int(after)} ORDER BY id",
            )
        ]
        if statuses.count("succeeded") >= done or "failed" in statuses:
            return statuses
        if time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.2)


async def test_an_install_subscribes_the_webhooks_and_a_deleted_deal_is_delivered_and_handled(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.container is not None
    assert service.grpc is not None
    ours = f"{service.settings.public_url}/webhooks/pipedrive"

    before = await jobs_before_the_test(service)
    async with aiohttp.ClientSession() as http:
        await install_through_oauth(http, service, emulators.pipedrive_url)
        assert await subscription_jobs(service, done=1, after=before) == ["succeeded"]
        await install_through_oauth(http, service, emulators.pipedrive_url)  # a reinstall
        assert await subscription_jobs(service, done=2, after=before) == [
            "succeeded",
            "succeeded",
        ]

    listed = await emulators.admin("pipedrive", "GET", "webhooks")
    hooks: list[dict[str, Any]] = [w for w in listed["webhooks"] if w["subscription_url"] == ours]
    assert sorted((h["event_action"], h["event_object"]) for h in hooks) == [
        ("change", "deal"),  # the invoicing rules (issue 17)
        ("create", "deal"),  # the same, for deals created won or in a rule's stage
        ("delete", "deal"),
        ("delete", "organization"),
        ("delete", "person"),
    ]  # once each, however many installs
    for hook in hooks:
        assert (hook["version"], hook["type"], hook["is_active"]) == ("2.0", "application", 1)
        assert (hook["http_auth_user"], hook["http_auth_password"]) == (
            service.settings.pipedrive.webhook_user,
            service.settings.pipedrive.webhook_password,
        )

    deal = await service.container.gateways.crm().get_deal(DEMO_COMPANY, "3")
    assert deal.organization_id is not None
    link_name = f"companies/{DEMO_COMPANY}/organizations/{deal.organization_id}/customerLink"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        invoice = await create(channel, "pd-subscribed")
        links = customer_service_pb2_grpc.CustomerServiceStub(channel)
        # The deal follow-up job remembers the link once QuickBooks has the invoice.
        linked = await eventually(
            lambda: found_link(links, link_name), lambda link: link is not None
        )
        assert linked is not None

        await emulators.admin("pipedrive", "DELETE", f"organizations/{deal.organization_id}")
        await emulators.admin("pipedrive", "DELETE", "deals/3")
        await emulators.admin("pipedrive", "POST", "webhooks/drain")

        code, _, _ = await error_of(
            links.GetCustomerLink(
                customer_service_pb2.GetCustomerLinkRequest(name=link_name), metadata=MD
            )
        )
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        listed_invoices = await invoices.ListInvoices(
            invoice_service_pb2.ListInvoicesRequest(parent=DEAL), metadata=MD
        )
    deliveries = (await emulators.admin("pipedrive", "GET", "webhook-deliveries"))["deliveries"]
    delivered = {(d["entity"], d["action"], d["status"]) for d in deliveries if d["url"] == ours}
    # (Plus the deal's changes: dealbooks' own writes of its deal fields, delivered, answered
    # 200 and firing no rule.)
    assert delivered - {("deal", "change", 200)} == {
        ("organization", "delete", 200),
        ("deal", "delete", 200),
    }
    assert code is grpc.StatusCode.NOT_FOUND  # the deleted organization was handled
    assert [i.name for i in listed_invoices.invoices] == [invoice.name]  # the deal's kept
