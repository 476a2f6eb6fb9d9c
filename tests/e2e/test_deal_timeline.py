"""The deal's Pipedrive timeline follows the invoice, through the real service: a payment in
the QuickBooks emulator -> its webhook -> one "paid" note on the Pipedrive emulator's deal, in
the company's language; the same webhook replayed adds nothing; a void adds a "voided" note."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import grpc
import pytest
from google.protobuf import field_mask_pb2

from dealbooks.v1 import (
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
    settings_pb2,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.service import Service
from tests.e2e.polling import eventually
from tests.e2e.test_journey import MD, world  # noqa: F401 - the fixture
from tests.e2e.test_status_sync import create, grpc_address, wait_for_state

pytestmark = pytest.mark.e2e


async def notes_about(emulators: Emulators, quickbooks_id: str) -> list[str]:
    """The notes posted to the Pipedrive emulator that name this QuickBooks invoice."""
    posted = await emulators.admin("pipedrive", "GET", "requests?path=/notes&method=POST")
    bodies = [
        json.loads(r["body"]) if isinstance(r["body"], str) else r["body"]
        for r in posted["requests"]
    ]
    return [
        str(b["content"])
        for b in bodies
        if isinstance(b, dict) and f"txnId={quickbooks_id}" in str(b.get("content"))
    ]


async def replay_deliveries(service: Service, emulators: Emulators) -> list[int]:
    """POST every webhook the QuickBooks emulator delivered again, as QuickBooks does."""
    hooks = await emulators.admin("quickbooks", "GET", "webhooks")
    url = f"http://127.0.0.1:{service.http_port_bound}/webhooks/quickbooks"
    statuses = []
    async with aiohttp.ClientSession() as http:
        for delivery in hooks["deliveries"]:
            headers = {"intuit-signature": delivery["signature"]}
            async with http.post(url, data=delivery["body"].encode(), headers=headers) as resp:
                statuses.append(resp.status)
    return statuses


async def test_a_payment_adds_one_french_paid_note_a_replay_nothing_a_void_a_voided_note(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        await settings.UpdateSettings(
            settings_service_pb2.UpdateSettingsRequest(
                settings=settings_pb2.Settings(
                    name=f"companies/{DEMO_COMPANY}/settings",
                    deal_timeline=settings_pb2.DealTimeline(
                        milestones=[
                            settings_pb2.INVOICE_MILESTONE_CREATED,
                            settings_pb2.INVOICE_MILESTONE_PAID,
                            settings_pb2.INVOICE_MILESTONE_VOIDED,
                        ],
                        language_code="fr",
                    ),
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["deal_timeline"]),
            ),
            metadata=MD,
        )
        invoice = await create(channel, "timeline-1")
        qb_id = invoice.quickbooks_invoice_id
        await emulators.admin(
            "quickbooks", "POST", f"companies/{US_REALM}/payments", invoice_id=qb_id
        )
        paid = await wait_for_state(channel, invoice.name, invoice_pb2.INVOICE_STATE_PAID)
        assert paid.state == invoice_pb2.INVOICE_STATE_PAID

        def has(word: str) -> Any:
            return lambda notes: any(word in n for n in notes)

        notes = await eventually(lambda: notes_about(emulators, qb_id), has("payée"))
        assert [n for n in notes if "payée" in n] == [
            f"Facture {paid.doc_number} payée en totalité (200,00 USD).<br>"
            f"Ouvrir dans QuickBooks : {paid.quickbooks_url}"
        ]
        assert sum("créée" in n for n in notes) == 1

        # QuickBooks delivers the same notifications again: nothing more on the deal.
        statuses = await replay_deliveries(service, emulators)
        assert statuses
        assert set(statuses) == {200}
        await asyncio.sleep(2)  # what a replay would have queued has had time to run
        assert await notes_about(emulators, qb_id) == notes

        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        await invoices.VoidInvoice(
            invoice_service_pb2.VoidInvoiceRequest(name=invoice.name), metadata=MD
        )
        after_void = await eventually(lambda: notes_about(emulators, qb_id), has("annulée"))
    assert [n for n in after_void if "annulée" in n] == [
        f"Facture {paid.doc_number} annulée dans QuickBooks.<br>"
        f"Ouvrir dans QuickBooks : {paid.quickbooks_url}"
    ]
    assert len(after_void) == 3  # created, paid, voided: each once


async def activities_about(emulators: Emulators, quickbooks_id: str) -> list[dict[str, Any]]:
    """The activities posted to the Pipedrive emulator that name this QuickBooks invoice."""
    posted = await emulators.admin("pipedrive", "GET", "requests?path=/activities&method=POST")
    bodies = [
        json.loads(r["body"]) if isinstance(r["body"], str) else r["body"]
        for r in posted["requests"]
    ]
    return [
        b for b in bodies if isinstance(b, dict) and f"txnId={quickbooks_id}" in str(b.get("note"))
    ]


async def test_entries_as_activities_are_done_activities_added_once_under_a_replay(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        saved = await settings.UpdateSettings(
            settings_service_pb2.UpdateSettingsRequest(
                settings=settings_pb2.Settings(
                    name=f"companies/{DEMO_COMPANY}/settings",
                    deal_timeline=settings_pb2.DealTimeline(
                        milestones=[
                            settings_pb2.INVOICE_MILESTONE_CREATED,
                            settings_pb2.INVOICE_MILESTONE_PAID,
                        ],
                        language_code="en",
                        entry_kind=settings_pb2.TIMELINE_ENTRY_KIND_ACTIVITY,
                    ),
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["deal_timeline"]),
            ),
            metadata=MD,
        )
        assert saved.settings.deal_timeline.entry_kind == settings_pb2.TIMELINE_ENTRY_KIND_ACTIVITY
        invoice = await create(channel, "timeline-activity-1")
        qb_id = invoice.quickbooks_invoice_id
        await emulators.admin(
            "quickbooks", "POST", f"companies/{US_REALM}/payments", invoice_id=qb_id
        )
        paid = await wait_for_state(channel, invoice.name, invoice_pb2.INVOICE_STATE_PAID)

        def subjects(found: list[dict[str, Any]]) -> list[str]:
            return sorted(str(a["subject"]) for a in found)

        found = await eventually(lambda: activities_about(emulators, qb_id), lambda a: len(a) >= 2)
        assert subjects(found) == sorted(
            [
                f"Invoice {paid.doc_number} created in QuickBooks: 200.00 USD.",
                f"Invoice {paid.doc_number} paid in full (200.00 USD).",
            ]
        )
        assert all(a["done"] is True and a["deal_id"] for a in found)

        statuses = await replay_deliveries(service, emulators)
        assert set(statuses) == {200}
        await asyncio.sleep(2)  # what a replay would have queued has had time to run
        assert subjects(await activities_about(emulators, qb_id)) == subjects(found)
    assert await notes_about(emulators, qb_id) == []  # activities instead of notes
