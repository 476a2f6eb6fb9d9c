"""The linked customer's details (name included) are copied to QuickBooks as the company's
setting says, unless the user turns it on or off for one invoice."""

from __future__ import annotations

import dataclasses

import pytest

from application.commands import CreateInvoiceCommand
from application.errors import IntegrationNotConnectedError, UpstreamRejectedError
from application.reasons import MetadataKey, Reason
from domain.invoice import InvoiceState
from tests.unit.application.invoicing_world import World, change_settings, create_command, deal_ref

ACME = "100"  # the QuickBooks customer the first invoice made and linked


@pytest.fixture
async def world() -> World:
    world = World()
    await world.create.execute(create_command("first"))  # "Acme Corp", linked from now on
    return world


async def _copy_setting(world: World, on: bool) -> None:
    await change_settings(world, copy_customer_details=on)


def _renamed(
    name: str, request_id: str, copy: bool | None, customer_id: str = ACME
) -> CreateInvoiceCommand:
    """An invoice to the linked customer, with the name edited in the form."""
    command = create_command(request_id)
    customer = dataclasses.replace(
        command.invoice.customer, display_name=name, quickbooks_customer_id=customer_id
    )
    invoice = dataclasses.replace(command.invoice, customer=customer, update_customer_details=copy)
    return dataclasses.replace(command, invoice=invoice)


def _name_in_quickbooks(world: World) -> str:
    return world.qbo.customers[ACME].customer.display_name


async def test_the_draft_starts_from_the_companys_setting(world: World) -> None:
    assert not (await world.prepare.execute(deal_ref())).copy_customer_details
    await _copy_setting(world, True)
    assert (await world.prepare.execute(deal_ref())).copy_customer_details


async def test_with_the_setting_on_the_edited_name_is_copied(world: World) -> None:
    await _copy_setting(world, True)

    view = await world.create.execute(_renamed("Acme Corporation", "r1", None))

    assert view.state is InvoiceState.OPEN
    assert _name_in_quickbooks(world) == "Acme Corporation"


async def test_the_setting_can_be_turned_off_for_one_invoice(world: World) -> None:
    await _copy_setting(world, True)

    await world.create.execute(_renamed("Acme Corporation", "r1", False))

    assert _name_in_quickbooks(world) == "Acme Corp"


async def test_and_on_for_one_invoice(world: World) -> None:
    await world.create.execute(_renamed("Acme Corporation", "r1", True))

    assert _name_in_quickbooks(world) == "Acme Corporation"


async def test_a_name_quickbooks_has_for_someone_else_fails_the_creation_saying_so(
    world: World,
) -> None:
    other = create_command("other")
    globex = dataclasses.replace(other.invoice.customer, display_name="Globex")
    await world.create.execute(
        dataclasses.replace(other, invoice=dataclasses.replace(other.invoice, customer=globex))
    )

    view = await world.create.execute(_renamed("Globex", "r1", True))

    assert view.state is InvoiceState.CREATE_FAILED
    assert view.failure_params[MetadataKey.VENDOR_CODE] == "6240"
    assert _name_in_quickbooks(world) == "Acme Corp"


def _refused_with_610(world: World) -> None:
    world.qbo.fail_on(
        "create_invoice",
        UpstreamRejectedError(
            "Something this uses is inactive or deleted in QuickBooks.",
            reason=Reason.QUICKBOOKS_OBJECT_NOT_FOUND,
            metadata={MetadataKey.VENDOR_CODE: "610"},
        ),
    )


async def test_a_610_for_an_inactive_linked_customer_says_which_customer(world: World) -> None:
    customer = world.qbo.customers[ACME]
    world.qbo.customers[ACME] = dataclasses.replace(customer, active=False)
    _refused_with_610(world)

    view = await world.create.execute(_renamed("Acme Corp", "r610", False))

    assert view.state is InvoiceState.CREATE_FAILED
    assert view.failure_code == Reason.QUICKBOOKS_CUSTOMER_INACTIVE
    assert view.failure_params == {
        MetadataKey.VENDOR_CODE: "610",
        MetadataKey.CUSTOMER_NAME: "Acme Corp",
    }


@pytest.mark.parametrize("active", [True, False], ids=["active", "unreadable"])
async def test_a_610_the_customer_does_not_explain_stays_as_quickbooks_said_it(
    world: World, active: bool
) -> None:
    _refused_with_610(world)
    if not active:  # the explanation's read fails: the refusal stands, nothing left CREATING
        world.qbo.fail_on(
            "get_customer",
            IntegrationNotConnectedError(
                "QuickBooks is not connected.", reason=Reason.QUICKBOOKS_NOT_CONNECTED
            ),
        )

    view = await world.create.execute(_renamed("Acme Corp", "r610", False))

    assert view.state is InvoiceState.CREATE_FAILED
    assert view.failure_code == Reason.QUICKBOOKS_OBJECT_NOT_FOUND
