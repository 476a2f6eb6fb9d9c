"""The payment link (issue 17): the adapter asks QuickBooks (the emulator) for ``InvoiceLink``
on the create call itself, and gets one only where the company takes online payments."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from domain.invoice_template import InvoiceExtras
from tests.integration.quickbooks.harness import (
    US_REALM,
    RunningEmulator,
    connect,
    invoice,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
COMPANY = "3001"


@pytest.fixture
async def setup() -> AsyncIterator[tuple[RunningEmulator, QuickBooksAccountingGateway]]:
    async with running_emulator() as emulator:
        store = InMemoryTokenStore()
        await connect(emulator, store, COMPANY, US_REALM)
        yield emulator, make_gateway(emulator, store)


async def _online_payments(emulator: RunningEmulator, on: bool) -> None:
    await emulator.admin("POST", f"companies/{US_REALM}/preferences", {"online_payments": on})


async def test_the_create_answer_carries_the_payment_link_without_another_call(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    emulator, gateway = setup
    await _online_payments(emulator, True)
    draft = invoice("1")
    await gateway.invoice_options(COMPANY)  # reference data, cached: not this test's concern
    emulator.emulator.requests.clear()

    created = await gateway.create_invoice(COMPANY, draft, request_id=f"inv-{draft.id}")

    assert created.payment_link is not None
    assert created.payment_link.startswith(emulator.base_url + "/portal/app/CommerceNetwork/")
    calls = [(r["method"], r["path"]) for r in emulator.requests()]
    assert calls == [("POST", f"/v3/company/{US_REALM}/invoice")]
    async with emulator.session.get(created.payment_link) as page:
        assert page.status == 200


async def test_no_link_where_the_company_takes_no_online_payments(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    _, gateway = setup
    draft = invoice("1")

    created = await gateway.create_invoice(COMPANY, draft, request_id=f"inv-{draft.id}")

    assert created.payment_link is None


async def test_no_link_for_an_invoice_that_allows_no_online_payment(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    emulator, gateway = setup
    await _online_payments(emulator, True)
    draft = invoice("1")
    extras = InvoiceExtras(allow_online_card=False, allow_online_ach=False)

    created = await gateway.create_invoice(
        COMPANY, draft, request_id=f"inv-{draft.id}", extras=extras
    )

    assert created.payment_link is None
