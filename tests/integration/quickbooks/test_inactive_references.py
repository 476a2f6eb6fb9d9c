"""An invoice that uses something made inactive in QuickBooks (an item, the linked customer)
is refused by QuickBooks with fault 610, which no retry changes: the creation ends
CREATE_FAILED with a reason the UI words, instead of staying CREATING for the sweep to send
again every minute (the adapter against the emulator over HTTP)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.system_clock import SystemClock
from application.errors import UpstreamRejectedError
from application.invoicing.finish import FinishInvoiceCreation
from application.ports.accounting import BatchCreated, InvoiceToCreate
from application.ports.persistence import CreationOptions
from application.reasons import MetadataKey, Reason
from domain.invoice import Invoice, InvoiceState
from domain.invoice_line import InvoiceLine
from tests.integration.quickbooks.harness import (
    US_REALM,
    Setup,
    connected,
    invoice,
)

COMPANY = "3001"


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with connected((COMPANY, US_REALM)) as setup:
        yield setup


def _made_inactive(setup: Setup, entity: str, entity_id: str) -> dict[str, Any]:
    company = setup.emulator.emulator.store.company(US_REALM)
    assert company is not None
    made = company.table(entity)[entity_id]
    made["Active"] = False  # as the QuickBooks UI does
    return dict(made)


async def _finish(setup: Setup, draft: Invoice, creation: CreationOptions) -> Invoice:
    uow = InMemoryUnitOfWorkFactory()
    async with uow() as tx:
        await tx.invoices.add(copy.deepcopy(draft), creation=creation)
        await tx.commit()
    finish = FinishInvoiceCreation(uow, setup.gateway, SystemClock())
    finished = await finish.finish(draft, creation)
    again = await finish.execute(COMPANY, draft.id)  # the sweep's run: nothing sent again
    assert again.state is finished.state
    return finished


@pytest.mark.integration
async def test_an_inactive_item_ends_the_creation_refused(setup: Setup) -> None:
    _made_inactive(setup, "Item", "2")
    draft = invoice("1", [InvoiceLine("Work", Decimal(1), Decimal(10), name="Hours", item_ref="2")])

    finished = await _finish(setup, draft, CreationOptions())

    assert finished.state is InvoiceState.CREATE_FAILED
    assert finished.failure_code == Reason.QUICKBOOKS_OBJECT_NOT_FOUND
    assert finished.failure_reason is not None
    assert finished.failure_reason.startswith("Something this uses is inactive or deleted")
    assert len(setup.emulator.requests("/invoice", method="POST")) == 1


@pytest.mark.integration
@pytest.mark.parametrize("copy_details", [False, True], ids=["linked", "copying-details"])
async def test_an_inactive_linked_customer_ends_the_creation_refused_by_its_name(
    setup: Setup, copy_details: bool
) -> None:
    name = _made_inactive(setup, "Customer", "1")["DisplayName"]
    draft = invoice("1", [InvoiceLine("Work", Decimal(1), Decimal(10), name="Services")])

    # Linked: QuickBooks refuses the invoice (610, naming nothing), and one read of the
    # customer says which. Copying the customer's details reads it first: nothing is sent.
    finished = await _finish(setup, draft, CreationOptions(update_customer_details=copy_details))

    assert finished.state is InvoiceState.CREATE_FAILED
    assert finished.failure_code == Reason.QUICKBOOKS_CUSTOMER_INACTIVE
    assert finished.failure_params[MetadataKey.CUSTOMER_NAME] == name
    assert finished.failure_reason is not None
    assert finished.failure_reason.startswith(f"The QuickBooks customer '{name}' is inactive")
    invoices_sent = len(setup.emulator.requests("/invoice", method="POST"))
    customers_read = len(setup.emulator.requests("/customer/1", method="GET"))
    assert (invoices_sent, customers_read) == ((0, 1) if copy_details else (1, 1))


@pytest.mark.integration
async def test_an_inactive_item_in_a_batch_refuses_that_invoice_with_the_same_reason(
    setup: Setup,
) -> None:
    _made_inactive(setup, "Item", "2")
    inactive = [InvoiceLine("Work", Decimal(1), Decimal(10), name="Hours", item_ref="2")]
    wanted = [InvoiceToCreate(invoice("1")), InvoiceToCreate(invoice("1", inactive))]

    made, refused = await setup.gateway.create_invoices(COMPANY, wanted, request_id="b-610")

    assert isinstance(made, BatchCreated)
    assert isinstance(refused, UpstreamRejectedError)
    assert refused.reason == Reason.QUICKBOOKS_OBJECT_NOT_FOUND


@pytest.mark.integration
async def test_an_inactive_customer_in_a_batch_refuses_that_invoice_by_its_name(
    setup: Setup,
) -> None:
    name = _made_inactive(setup, "Customer", "2")["DisplayName"]
    members = [invoice("1"), invoice("2"), invoice("2")]
    batch = CreationOptions(
        batch_request_id="b-inactive", batch_members=tuple(m.id for m in members)
    )
    uow = InMemoryUnitOfWorkFactory()
    async with uow() as tx:
        for member in members:
            await tx.invoices.add(copy.deepcopy(member), creation=batch)
        await tx.commit()

    finished = await FinishInvoiceCreation(uow, setup.gateway, SystemClock()).finish_batch(
        COMPANY, "b-inactive", batch.batch_members
    )

    made, *refused = (finished[m.id] for m in members)
    assert made.state is InvoiceState.OPEN
    for each in refused:
        assert each.state is InvoiceState.CREATE_FAILED
        assert each.failure_code == Reason.QUICKBOOKS_CUSTOMER_INACTIVE
        assert each.failure_params[MetadataKey.CUSTOMER_NAME] == name
    # Two members for the same customer: it is read once.
    assert len(setup.emulator.requests("/customer/2", method="GET")) == 1
