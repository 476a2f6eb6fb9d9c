"""Outside the US QuickBooks reads a customer's PrimaryTaxIdentifier back masked to its last
five characters (reference §6, §13.13): the adapter against the emulator over HTTP never takes
the mask for a change, and never sends it back."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.quickbooks.mappers import customer_fields_to_qbo
from adapters.system_clock import SystemClock
from application.invoicing.finish import FinishInvoiceCreation
from application.ports.persistence import CreationOptions
from domain.customer import Customer
from domain.invoice import InvoiceState
from domain.invoice_line import InvoiceLine
from tests.integration.quickbooks.harness import (
    INTL_REALM,
    Setup,
    connected,
    invoice,
)

UK_COMPANY = "3002"
VAT = "GB123456789"


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with connected((UK_COMPANY, INTL_REALM)) as setup:
        yield setup


def _customer_writes(setup: Setup) -> list[dict[str, object]]:
    return [r for r in setup.emulator.requests("/customer", method="POST") if r["status"] < 300]


@pytest.mark.integration
async def test_an_invoice_to_a_linked_customer_whose_tax_id_reads_back_masked_updates_nothing(
    setup: Setup,
) -> None:
    ours = Customer(f"Globex Ltd {uuid.uuid4().hex[:6]}", email="ap@globex.example", tax_id=VAT)
    linked = await setup.gateway.create_customer(
        UK_COMPANY, ours, request_id=f"cus-{uuid.uuid4()}", currency="GBP"
    )
    assert linked.customer.tax_id == "XXXXXX56789"  # the emulator masks as QuickBooks does
    uow = InMemoryUnitOfWorkFactory()
    finish = FinishInvoiceCreation(uow, setup.gateway, SystemClock())
    draft = invoice(
        linked.id,
        [InvoiceLine("Work", Decimal(2), Decimal(100), name="Services", tax_code_ref="4")],
        currency="GBP",
        company=UK_COMPANY,
    )
    draft.customer = ours.with_quickbooks_id(linked.id)
    creation = CreationOptions(update_customer_details=True)  # copying the details is on
    async with uow() as tx:
        await tx.invoices.add(copy.deepcopy(draft), creation=creation)
        await tx.commit()
    writes_before = len(_customer_writes(setup))

    finished = await finish.finish(draft, creation)

    assert finished.state is InvoiceState.OPEN
    assert setup.emulator.requests(f"/customer/{linked.id}", method="GET")  # it was compared
    assert len(_customer_writes(setup)) == writes_before  # and not updated
    stored = setup.emulator.emulator.store.company(INTL_REALM)
    assert stored is not None
    assert stored.table("Customer")[linked.id]["PrimaryTaxIdentifier"] == VAT


def test_a_masked_tax_id_is_never_sent_to_quickbooks() -> None:
    masked = Customer("Globex Ltd", tax_id="XXXXXX56789")

    assert customer_fields_to_qbo(masked, is_us=False) == {}
    assert customer_fields_to_qbo(masked, is_us=False, fields=frozenset({"tax_id"})) == {}
