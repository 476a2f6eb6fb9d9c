"""An installment schedule against both emulators, with the service's and QuickBooks' clocks
moved: each invoice is created on its date through the real adapters (QuickBooks records it
with that date and its share of the deal, the lines saying which installment they are), once
only, and what remains to invoice on the deal reaches zero."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from adapters.system_clock import FrozenClock
from dealbooks.v1 import (
    installment_pb2,
    installment_pb2_grpc,
    invoice_service_pb2_grpc,
    settings_pb2,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.service import Service
from entrypoints.settings import AppSettings, PipedriveSettings, QuickBooksSettings
from tests.e2e.test_journey import DEAL, MD, draft_of, free_port
from tests.e2e.test_retention import run_job

pytestmark = pytest.mark.e2e
State = installment_pb2.InstallmentState


@pytest.fixture
async def world(
    app_settings: AppSettings, pg_engine: object
) -> AsyncIterator[tuple[Service, Emulators, FrozenClock]]:
    http_port = free_port()
    public_url = f"http://127.0.0.1:{http_port}"
    emulators = Emulators(public_url=public_url)
    await emulators.start()
    settings = replace(
        app_settings,
        public_url=public_url,
        quickbooks=QuickBooksSettings(base_url=emulators.quickbooks_url),
        pipedrive=PipedriveSettings(oauth_url=emulators.pipedrive_url),
    )
    clock = FrozenClock(datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0))
    service = Service(settings, grpc_port=0, http_port=http_port, overrides={"clock": clock})
    await service.start()
    try:
        assert service.container is not None
        await emulators.connect(service.container.gateways.token_store())
        await emulators.admin("quickbooks", "POST", "clock", now=clock.now().isoformat())
        yield service, emulators, clock
    finally:
        await service.stop()
        await emulators.stop()


async def recorded(emulators: Emulators) -> list[dict[str, Any]]:
    state = await emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
    return sorted(state["invoices"], key=lambda invoice: int(invoice["Id"]))


async def move(service: Service, emulators: Emulators, clock: FrozenClock, days: int) -> None:
    """Both clocks ``days`` later, then the worker's job as its 10-minute tick runs it."""
    clock.advance(timedelta(days=days))
    await emulators.admin("quickbooks", "POST", "clock", now=clock.now().isoformat())
    await run_job(service, "create_due_installments", timestamp=0)


async def test_each_installment_is_invoiced_in_quickbooks_on_its_date(
    world: tuple[Service, Emulators, FrozenClock],
) -> None:
    service, emulators, clock = world
    assert service.grpc is not None
    today = clock.now().date()
    dates = [today, today + timedelta(days=31), today + timedelta(days=61)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        installments = installment_pb2_grpc.InstallmentServiceStub(channel)
        # Unmatched products go to QuickBooks item 1 (what the job's drafts need).
        await settings.UpdateSettings(
            settings_service_pb2.UpdateSettingsRequest(
                settings=settings_pb2.Settings(
                    name=f"companies/{DEMO_COMPANY}/settings", default_item="1"
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["default_item"]),
            ),
            metadata=MD,
        )
        whole = await draft_of(invoices, DEAL)
        deal_amount = Decimal(whole.invoice.totals.subtotal.amount) - Decimal(
            whole.invoice.totals.discount.amount
        )

        reply = await installments.ScheduleInstallments(
            installment_pb2.ScheduleInstallmentsRequest(
                parent=DEAL,
                installments=[
                    installment_pb2.PlannedInstallment(percentage=p, due_date=d.isoformat())
                    for p, d in zip(("30", "40", "30"), dates, strict=True)
                ],
                request_id="journey-schedule",
            ),
            metadata=MD,
        )
        amounts = [Decimal(i.amount.amount) for i in reply.installments]
        assert sum(amounts) == deal_amount
        assert reply.installments[0].state == State.INSTALLMENT_STATE_CREATED

        await run_job(service, "create_due_installments", timestamp=0)
        assert len(await recorded(emulators)) == 1  # the others are not due yet
        await move(service, emulators, clock, 31)
        await run_job(service, "create_due_installments", timestamp=0)  # once only
        assert len(await recorded(emulators)) == 2
        await move(service, emulators, clock, 30)

        found = await recorded(emulators)
        assert [date.fromisoformat(i["TxnDate"]) for i in found] == dates
        for position, (invoice, amount) in enumerate(zip(found, amounts, strict=True), 1):
            before_tax = Decimal(str(invoice["TotalAmt"])) - Decimal(
                str(invoice.get("TxnTaxDetail", {}).get("TotalTax", 0))
            )
            assert before_tax == amount
            assert invoice["Line"][0]["Description"].startswith(f"Installment {position} of 3 (")
        listed = await installments.ListInstallments(
            installment_pb2.ListInstallmentsRequest(parent=DEAL), metadata=MD
        )
        assert [i.state for i in listed.installments] == [State.INSTALLMENT_STATE_CREATED] * 3
        after = await draft_of(invoices, DEAL)
        assert Decimal(after.invoiced_on_deal.amount) == deal_amount  # nothing left
