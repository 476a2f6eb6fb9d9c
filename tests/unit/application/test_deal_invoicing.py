"""The panel's summary of a deal (issue 16): its value, what its invoices ask for and have been
paid, and what remains to invoice, in the deal's currency."""

from __future__ import annotations

from dataclasses import replace as dataclass_replace
from decimal import Decimal

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from application.auth import Principal
from application.commands import InvoiceActionCommand
from application.errors import PermissionDeniedError
from application.invoicing.deal_summary import DealInvoicing, GetDealInvoicing
from application.reasons import Reason
from application.sync import ApplyAccountingChanges
from application.visibility import DealVisibility
from domain.money import Money
from tests.unit.application.invoicing_world import (
    COMPANY,
    World,
    create_command,
    deal_ref,
    invoice_ref,
)

DEAL = "42"  # the world's deal, worth 2,109.78 USD


@pytest.fixture
def world() -> World:
    return World()


async def summary(world: World, principal: Principal | None = None) -> DealInvoicing:
    use_case = GetDealInvoicing(world.uow, world.crm, DealVisibility(world.crm))
    return await use_case.execute(deal_ref(principal) if principal else deal_ref())


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


async def test_a_deal_without_invoices_has_all_of_its_value_left(world: World) -> None:
    figures = await summary(world)

    assert (figures.currency, figures.deal_value, figures.remaining) == (
        "USD",
        usd("2109.78"),
        usd("2109.78"),
    )
    assert (figures.invoiced, figures.paid, figures.balance_due) == (usd("0"),) * 3
    assert (figures.invoice_count, figures.other_currencies) == (0, ())


async def test_invoiced_paid_and_remaining_follow_the_invoices(world: World) -> None:
    first = await world.create.execute(create_command("r-1"))
    half = await world.create.execute(
        create_command("r-2", lines=create_command().invoice.lines[:1])
    )
    assert half.quickbooks_id is not None
    world.qbo.record_payment(half.quickbooks_id, usd("50"))
    apply = ApplyAccountingChanges(world.uow, world.qbo, InMemoryTokenStore(), world.clock)
    await apply.apply(COMPANY, [half.quickbooks_id])

    figures = await summary(world)

    services = half.totals.total
    assert figures.invoiced == first.totals.total + services
    assert figures.paid == usd("50")
    assert figures.balance_due == first.totals.total + services - usd("50")
    assert figures.remaining == usd("2109.78") - figures.invoiced  # over the deal's value
    assert figures.remaining.is_negative()
    assert figures.invoice_count == 2


async def test_a_voided_invoice_gives_its_amount_back_to_what_remains(world: World) -> None:
    view = await world.create.execute(create_command())
    await world.void.execute(InvoiceActionCommand(invoice_ref(view.id), "void-1"))

    figures = await summary(world)

    assert figures.invoiced == usd("0")
    assert figures.remaining == usd("2109.78")
    assert figures.invoice_count == 0


async def test_invoices_in_another_currency_are_named_not_added(world: World) -> None:
    world.qbo.preferences = dataclass_replace(
        world.qbo.preferences, multicurrency_enabled=True, enabled_currencies=("USD", "EUR")
    )
    await world.create.execute(create_command("r-eur", currency="EUR"))

    figures = await summary(world)

    assert figures.invoiced == usd("0")
    assert figures.other_currencies == ("EUR",)
    assert figures.invoice_count == 1


async def test_a_user_the_deal_is_hidden_from_gets_no_figures(world: World) -> None:
    world.crm.members[COMPANY] = {"31", "33"}
    world.crm.restrict_deal(COMPANY, DEAL, {"31"})
    outsider = Principal(
        subject="pipedrive-user-33", companies=frozenset({COMPANY}), is_admin=False, user_id="33"
    )

    with pytest.raises(PermissionDeniedError) as refused:
        await summary(world, outsider)

    assert refused.value.reason == Reason.DEAL_NOT_VISIBLE


async def test_a_deal_in_a_currency_dealbooks_cannot_invoice_in_has_no_value_to_compare(
    world: World,
) -> None:
    deal = await world.crm.get_deal(COMPANY, DEAL)
    world.crm.add_deal(COMPANY, dataclass_replace(deal, currency="XBT"))
    view = await world.create.execute(create_command())

    figures = await summary(world)

    assert figures.currency == "USD"  # the newest invoice's
    assert figures.deal_value is None
    assert figures.remaining is None
    assert figures.invoiced == view.totals.total
    assert Decimal(0) < figures.invoiced.amount
