"""Terms: the one chosen, else the company's default, else the customer's QuickBooks term is
sent; with no due date given, the company's rule dates the invoice, by the term when it says so."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from application.commands import InvoiceActionCommand
from domain.due_date_policy import DueDatePolicy, DueDateRule
from domain.errors import InvalidValueError
from domain.messages import MessageCode
from domain.settings import CompanySettings
from tests.unit.application.invoicing_world import (
    COMPANY,
    World,
    create_command,
    deal_ref,
    invoice_ref,
)


@pytest.fixture
def world() -> World:
    return World()


async def _settings(world: World, **changes: object) -> None:
    async with world.uow() as uow:
        current = await uow.settings.get(COMPANY) or CompanySettings.default(COMPANY)
        await uow.settings.save(
            dataclasses.replace(current, updated_at=world.clock.now(), **changes)
        )
        await uow.commit()


async def _customer_term(world: World, term_id: str) -> None:
    """The deal's organization linked to a QuickBooks customer whose own term is ``term_id``."""
    view = await world.create.execute(create_command("first"))
    customer_id = view.customer.quickbooks_id
    assert customer_id is not None
    world.qbo.customers[customer_id] = dataclasses.replace(
        world.qbo.customers[customer_id], terms_id=term_id
    )


async def test_a_chosen_term_is_sent_and_the_companys_rule_dates_an_invoice_given_no_date(
    world: World,
) -> None:
    view = await world.create.execute(create_command(terms_id="2"))

    assert (view.terms_id, view.terms_name) == ("2", "Net 15")
    assert view.due_date == date(2026, 3, 20)  # 7 days after issue, the default rule
    recorded = world.qbo.invoices[view.quickbooks_id or ""]
    assert (recorded.terms_id, recorded.due_date) == ("2", date(2026, 3, 20))


async def test_a_due_date_given_with_the_term_is_kept_as_given(world: World) -> None:
    view = await world.create.execute(create_command(terms_id="3", due_date="2026-04-01"))

    assert view.terms_id == "3"
    assert view.due_date == date(2026, 4, 1)
    assert world.qbo.invoices[view.quickbooks_id or ""].due_date == date(2026, 4, 1)


async def test_without_a_choice_the_company_default_term_is_sent_and_its_rule_dates_it(
    world: World,
) -> None:
    await _settings(world, default_terms="3")

    view = await world.create.execute(create_command())

    assert view.terms_name == "Net 30"
    assert view.due_date == date(2026, 3, 20)  # the company's rule: 7 days after issue


async def test_when_the_rule_defers_to_terms_the_term_dates_the_invoice(world: World) -> None:
    await _settings(
        world,
        default_terms="6",
        due_date_policy=DueDatePolicy(DueDateRule.QUICKBOOKS_TERM),
    )

    view = await world.create.execute(create_command())

    # The 15th, but issued 2 days before it (under the term's 5): the 15th of next month.
    assert view.due_date == date(2026, 4, 15)


async def test_with_no_term_anywhere_quickbooks_applies_the_customers_and_it_is_kept(
    world: World,
) -> None:
    await _settings(world, due_date_policy=DueDatePolicy(DueDateRule.QUICKBOOKS_TERM))
    await _customer_term(world, "2")

    second = create_command("second")
    linked = dataclasses.replace(
        second.invoice,
        customer=dataclasses.replace(
            second.invoice.customer,
            quickbooks_customer_id=next(iter(world.qbo.customers)),
        ),
    )
    view = await world.create.execute(dataclasses.replace(second, invoice=linked))

    assert (view.terms_id, view.terms_name) == ("2", "Net 15")
    assert view.due_date == date(2026, 3, 28)  # as QuickBooks dated it


async def test_an_unknown_or_inactive_term_is_a_field_error_and_nothing_is_sent(
    world: World,
) -> None:
    world.qbo.terms = (
        *world.qbo.terms,
        dataclasses.replace(world.qbo.terms[0], id="9", active=False),
    )

    for term_id in ("404", "9"):
        with pytest.raises(InvalidValueError) as raised:
            await world.create.execute(create_command(f"r-{term_id}", terms_id=term_id))
        [violation] = raised.value.violations
        assert (violation.field, violation.code) == ("invoice.terms_id", MessageCode.UNKNOWN_TERM)
    assert world.qbo.invoices == {}


async def test_the_draft_offers_the_customers_term_and_each_terms_date_beside_the_rules(
    world: World,
) -> None:
    await _customer_term(world, "2")

    draft = await world.prepare.execute(deal_ref())

    assert draft.terms_id == "2"
    assert draft.rule_due_date == date(2026, 3, 20)
    assert draft.due_date == date(2026, 3, 20)  # the company's rule decides the date
    assert draft.terms_due_dates == {
        "3": date(2026, 4, 12),
        "2": date(2026, 3, 28),
        "6": date(2026, 4, 15),
    }


async def test_the_company_default_term_comes_before_the_customers_in_the_draft(
    world: World,
) -> None:
    await _customer_term(world, "2")
    await _settings(
        world, default_terms="3", due_date_policy=DueDatePolicy(DueDateRule.QUICKBOOKS_TERM)
    )

    draft = await world.prepare.execute(deal_ref())

    assert draft.terms_id == "3"
    assert draft.rule_due_date is None
    assert draft.due_date == date(2026, 4, 12)


async def test_a_voided_invoice_keeps_its_term(world: World) -> None:
    view = await world.create.execute(create_command(terms_id="2"))

    voided = await world.void.execute(InvoiceActionCommand(invoice_ref(view.id), "void-1"))

    assert voided.terms_name == "Net 15"
