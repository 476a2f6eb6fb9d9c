"""A customer with several email addresses, as QuickBooks keeps them: the draft keeps them all
when the deal's address is one of them, the invoice is sent to each and the send recorded."""

from __future__ import annotations

import dataclasses

from application.commands import ListPageCommand, SendInvoiceCommand
from tests.unit.application.invoicing_world import (
    World,
    create_command,
    deal_ref,
    invoice_ref,
)

ACME = "100"  # the QuickBooks customer the first invoice made and linked
BOTH = "ana@acme.test, boss@acme.test"


async def _acme_with_two_addresses(world: World) -> None:
    await world.create.execute(create_command("first"))  # "Acme Corp", ana@acme.test
    linked = world.qbo.customers[ACME]
    customer = dataclasses.replace(linked.customer, email=BOTH)
    world.qbo.customers[ACME] = dataclasses.replace(linked, customer=customer)


async def test_the_draft_keeps_every_address_when_the_deals_is_one_of_them() -> None:
    world = World()
    await _acme_with_two_addresses(world)

    draft = await world.prepare.execute(deal_ref())

    assert draft.customer.email == BOTH  # the deal's person is ana@acme.test


async def test_an_invoice_to_several_addresses_is_sent_and_the_send_recorded() -> None:
    world = World()
    command = create_command("r1")
    customer = dataclasses.replace(command.invoice.customer, email=BOTH)
    view = await world.create.execute(
        dataclasses.replace(
            command, invoice=dataclasses.replace(command.invoice, customer=customer)
        )
    )

    sent = await world.send.execute(SendInvoiceCommand(invoice_ref(view.id)))

    # Before, QuickBooks sent it and recording the send then failed ("not an email").
    assert [to for _, to in world.qbo.sent] == [BOTH]  # the invoice's own recipients
    assert sent.last_sent_at is not None
    events = await world.events.execute(ListPageCommand(deal_ref()))
    assert (events.items[0].event.kind, events.items[0].event.to) == ("sent", BOTH)
