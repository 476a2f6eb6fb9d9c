"""Deal fields through the real service: CreateDealFields queues the job that creates the
company's four deal fields in the Pipedrive emulator; an invoice, then a payment recorded in
the QuickBooks emulator (its webhook) show on the deal's fields; the same webhooks replayed
write nothing more."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import grpc
import pytest

from dealbooks.v1 import invoice_pb2, settings_service_pb2, settings_service_pb2_grpc
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.service import Service
from tests.e2e.polling import eventually
from tests.e2e.test_deal_timeline import replay_deliveries
from tests.e2e.test_journey import MD, world  # noqa: F401 - the fixture
from tests.e2e.test_status_sync import create, grpc_address, wait_for_state

pytestmark = pytest.mark.e2e

DEAL_ID = "3"  # tests.e2e.test_journey.DEAL


async def fields_on_deal(service: Service, keys: Any) -> dict[str, Any]:
    """The deal's four fields as Pipedrive (the emulator) holds them, read through the API."""
    assert service.container is not None
    crm = service.container.gateways.crm()
    deal = (await crm.get_deal(DEMO_COMPANY, DEAL_ID)).snapshot.deal
    return {
        "invoiced": deal.get(keys.invoiced_key),
        "paid": deal.get(keys.paid_key),
        "balance_due": deal.get(keys.balance_due_key),
        "currency": deal.get(f"{keys.balance_due_key}_currency"),
        "status": deal.get(keys.invoice_status_key),
    }


async def deal_writes(emulators: Emulators) -> int:
    """How many times the service wrote on the deal (PATCH /api/v2/deals/3)."""
    log = await emulators.admin(
        "pipedrive", "GET", f"requests?path=/api/v2/deals/{DEAL_ID}&method=PATCH"
    )
    return len(log["requests"])


async def test_a_payment_in_quickbooks_shows_on_the_deals_fields_and_a_replay_writes_nothing(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        parent = f"companies/{DEMO_COMPANY}"
        queued = await settings.CreateDealFields(
            settings_service_pb2.CreateDealFieldsRequest(parent=parent), metadata=MD
        )
        assert not queued.deal_fields.created  # a job creates them

        async def deal_fields() -> settings_service_pb2.DealFields:
            reply = await settings.GetDealFields(
                settings_service_pb2.GetDealFieldsRequest(parent=parent), metadata=MD
            )
            return reply.deal_fields

        keys = await eventually(deal_fields, lambda f: f.created)
        assert keys.created
        assert len({keys.invoiced_key, keys.paid_key, keys.balance_due_key}) == 3

        invoice = await create(channel, "fields-1")
        opened = await eventually(
            lambda: fields_on_deal(service, keys), lambda f: f["status"] == "Open"
        )
        assert opened == {
            "invoiced": Decimal(200),
            "paid": Decimal(0),
            "balance_due": Decimal(200),
            "currency": "USD",
            "status": "Open",
        }

        qb_id = invoice.quickbooks_invoice_id
        await emulators.admin(
            "quickbooks", "POST", f"companies/{US_REALM}/payments", invoice_id=qb_id
        )
        await wait_for_state(channel, invoice.name, invoice_pb2.INVOICE_STATE_PAID)
        paid = await eventually(
            lambda: fields_on_deal(service, keys), lambda f: f["status"] == "Paid"
        )
    assert paid == {
        "invoiced": Decimal(200),
        "paid": Decimal(200),
        "balance_due": Decimal(0),
        "currency": "USD",
        "status": "Paid",
    }
    writes = await deal_writes(emulators)
    assert writes == 2  # created, paid: one write each

    statuses = await replay_deliveries(service, emulators)
    assert statuses
    assert set(statuses) == {200}
    await asyncio.sleep(2)  # what a replay would have queued has had time to run
    assert await deal_writes(emulators) == writes


async def test_a_deal_invoiced_before_the_fields_existed_is_filled_when_they_are_created(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    """Before, such a deal showed empty fields until one of its invoices changed again."""
    service, _ = world
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        await create(channel, "before-fields-1")
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        parent = f"companies/{DEMO_COMPANY}"
        await settings.CreateDealFields(
            settings_service_pb2.CreateDealFieldsRequest(parent=parent), metadata=MD
        )

        async def deal_fields() -> settings_service_pb2.DealFields:
            reply = await settings.GetDealFields(
                settings_service_pb2.GetDealFieldsRequest(parent=parent), metadata=MD
            )
            return reply.deal_fields

        keys = await eventually(deal_fields, lambda f: f.created)
        filled = await eventually(
            lambda: fields_on_deal(service, keys), lambda f: f["status"] == "Open"
        )
    assert filled["invoiced"] == Decimal(200)
    assert filled["balance_due"] == Decimal(200)
