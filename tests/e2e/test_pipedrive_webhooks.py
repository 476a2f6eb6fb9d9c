"""Pipedrive webhooks: a deleted organization loses its customer link, a deleted deal keeps its
invoices, and only our subscription's Basic credentials are accepted."""

from __future__ import annotations

import base64

import aiohttp
import grpc
import pytest

from dealbooks.v1 import (
    customer_service_pb2,
    customer_service_pb2_grpc,
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
)
from entrypoints.bootstrap import Service
from entrypoints.emulated import DEMO_COMPANY, Emulators
from tests.e2e.test_journey import DEAL, MD, world  # noqa: F401 - the fixture
from tests.e2e.test_settings_api import error_of
from tests.e2e.test_status_sync import create

pytestmark = pytest.mark.e2e


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
        linked = await links.GetCustomerLink(
            customer_service_pb2.GetCustomerLinkRequest(name=link_name), metadata=MD
        )
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
