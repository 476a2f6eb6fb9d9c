"""The invoice's payment link (issue 17): QuickBooks' InvoiceLink, from the create answer, on
the invoice while there is something to pay, and in the deal's note."""

from __future__ import annotations

import dataclasses

import pytest

from application.commands import InvoiceActionCommand
from domain.invoice import InvoiceState
from tests.unit.application.invoicing_world import (
    COMPANY,
    World,
    create_command,
    invoice_ref,
)


@pytest.fixture
def world() -> World:
    return World()


def texts(world: World) -> list[str]:
    return [text for _, _, text in world.crm.notes]


async def test_a_company_taking_online_payments_gets_the_link_on_the_invoice_and_the_note(
    world: World,
) -> None:
    world.qbo.online_payments = True
    calls_before = len(world.qbo.calls)

    view = await world.create.execute(create_command())

    assert view.payment_link == f"https://pay.example/invoice/{view.quickbooks_id}"
    assert "get_invoice" not in world.qbo.calls[calls_before:]  # no read to learn it
    stored = await world.get.execute(invoice_ref(view.id))
    assert stored.payment_link == view.payment_link
    (note,) = texts(world)
    assert note.endswith(f"\nPay online: {view.payment_link}")
    assert view.quickbooks_url
    assert view.quickbooks_url in note


async def test_a_company_without_online_payments_has_no_link_and_no_pay_line(
    world: World,
) -> None:
    view = await world.create.execute(create_command())

    assert view.payment_link is None
    (note,) = texts(world)
    assert "Pay online" not in note


async def test_an_invoice_allowing_no_online_payment_has_no_link(world: World) -> None:
    world.qbo.online_payments = True

    view = await world.create.execute(
        create_command(allow_online_card=False, allow_online_ach=False)
    )

    assert view.payment_link is None


async def test_a_voided_invoice_no_longer_offers_its_link(world: World) -> None:
    world.qbo.online_payments = True
    view = await world.create.execute(create_command())
    assert view.payment_link

    voided = await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))

    assert voided.state is InvoiceState.VOIDED
    assert voided.payment_link is None


async def test_a_french_company_reads_payer_en_ligne(world: World) -> None:
    world.qbo.online_payments = True
    world.crm.users[COMPANY] = dataclasses.replace(world.crm.users[COMPANY], locale="fr_FR")

    view = await world.create.execute(create_command())

    (note,) = texts(world)
    assert note.startswith("Facture ")
    assert note.endswith(f"\nPayer en ligne : {view.payment_link}")
