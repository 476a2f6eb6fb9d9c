"""Where an invoice ships to, as QuickBooks has it: the ShipAddr sent on every invoice (the
ship-to, else the billing address), a customer's own ship-to read back, and a customer's
ShipAddr moved with its billing address when details are copied (QuickBooks' ShipAddr does not
follow its BillAddr by itself). With automated sales tax the tax is for that address."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from adapters.quickbooks.mappers import customer_fields_to_qbo, customer_from_qbo, invoice_to_qbo
from domain.customer import Address, Customer
from domain.invoice_line import InvoiceLine
from tests.integration.quickbooks.harness import US_REALM, Setup, connected, invoice

pytestmark = pytest.mark.integration
US_COMPANY = "3001"
NEW_YORK = Address(line1="1 Broadway", city="New York", region="NY", postal_code="10004")
TEXAS = Address(line1="500 Congress Ave", city="Austin", region="TX", postal_code="78701")
QBO_NEW_YORK = {"Line1": "1 Broadway", "City": "New York", "CountrySubDivisionCode": "NY",
                "PostalCode": "10004"}  # fmt: skip


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with connected((US_COMPANY, US_REALM)) as setup:
        yield setup


@pytest.mark.parametrize("automated", [True, False], ids=["automated-tax", "own-rates"])
def test_an_invoice_ships_to_its_ship_to_and_is_taxed_for_it(automated: bool) -> None:
    """With automated sales tax the billing address stands in for a missing ship-to (else
    QuickBooks would tax at the customer's own ShipAddr, or the company's address); without
    it, a missing ship-to is left to QuickBooks, as before."""
    draft = invoice("58", tax_by_quickbooks=automated)

    def ship_addr(customer: Customer) -> Any:
        draft.customer = customer
        return invoice_to_qbo(draft, is_us=True, item_ids_by_name={}).get("ShipAddr")

    billed = Customer("Acme", billing_address=NEW_YORK, quickbooks_id="58")
    assert ship_addr(billed) == (QBO_NEW_YORK if automated else None)
    assert ship_addr(dataclasses.replace(billed, shipping_address=TEXAS))["City"] == "Austin"
    assert ship_addr(Customer("Acme", quickbooks_id="58")) is None


def test_a_customers_ship_to_is_its_own_only_where_it_is_not_its_billing_address() -> None:
    def read(**addresses: object) -> Customer:
        return customer_from_qbo({"Id": "58", "DisplayName": "Acme", **addresses}).customer

    elsewhere = {**QBO_NEW_YORK, "City": "Buffalo"}
    assert read(BillAddr=QBO_NEW_YORK, ShipAddr=QBO_NEW_YORK).shipping_address is None
    spaced = {**QBO_NEW_YORK, "City": " new  york"}  # the same place, typed otherwise
    assert read(BillAddr=QBO_NEW_YORK, ShipAddr=spaced).shipping_address is None
    assert read(BillAddr=QBO_NEW_YORK, ShipAddr=elsewhere).shipping_address is not None
    only = read(ShipAddr=QBO_NEW_YORK)
    assert (only.billing_address, only.ships_to()) == (None, NEW_YORK)


def test_a_customer_gets_a_ship_to_when_it_ships_elsewhere_or_where_it_ships_changes() -> None:
    billed = Customer("Acme", billing_address=NEW_YORK)
    assert "ShipAddr" not in customer_fields_to_qbo(billed, is_us=True)  # created
    shipped = dataclasses.replace(billed, shipping_address=TEXAS)
    assert customer_fields_to_qbo(shipped, is_us=True)["ShipAddr"]["City"] == "Austin"
    # A change of where it ships: to its billing address, said so (QuickBooks' ShipAddr does
    # not follow its BillAddr).
    moved = customer_fields_to_qbo(billed, is_us=True, fields=frozenset({"shipping_address"}))
    assert moved["ShipAddr"] == QBO_NEW_YORK


async def test_with_automated_sales_tax_a_customer_shipping_elsewhere_is_taxed_where_it_ships(
    setup: Setup,
) -> None:
    """A customer billed in New York with a ship-to of its own in Texas: created with both,
    read back with its ship-to, and its invoice is taxed for Texas. One whose ship-to is its
    billing address (QuickBooks' "same as billing") reads back without one."""
    name = f"Lone Star {uuid.uuid4().hex[:6]}"
    ours = Customer(name, billing_address=NEW_YORK, shipping_address=TEXAS)
    made = await setup.gateway.create_customer(US_COMPANY, ours, request_id=f"cus-{uuid.uuid4()}")
    same = Customer(f"{name} NY", billing_address=NEW_YORK, shipping_address=NEW_YORK)
    plain = await setup.gateway.create_customer(US_COMPANY, same, request_id=f"cus-{uuid.uuid4()}")

    read = await setup.gateway.get_customer(US_COMPANY, made.id)
    assert read.customer.shipping_address == TEXAS
    same_read = await setup.gateway.get_customer(US_COMPANY, plain.id)
    assert same_read.customer.shipping_address is None

    taxable = InvoiceLine("Consulting", Decimal(1), Decimal(100), tax_code_ref="TAX")
    draft = invoice(made.id, [taxable], tax_by_quickbooks=True)
    draft.customer = read.customer
    created = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")

    recorded = setup.emulator.invoices()[created.id]
    assert recorded["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "4"  # Texas's, not New York's
    assert (recorded["BillAddr"]["City"], recorded["ShipAddr"]["City"]) == ("New York", "Austin")


async def test_a_billing_address_copied_to_quickbooks_moves_where_the_customer_ships(
    setup: Setup,
) -> None:
    """A customer shipping to its billing address moves to Texas: copied, it ships to Texas
    too. Had only its BillAddr been sent, its ShipAddr would have stayed in New York and read
    back as a ship-to of its own, taxing its next invoices there."""
    ours = Customer(f"Movers {uuid.uuid4().hex[:6]}", billing_address=NEW_YORK)
    made = await setup.gateway.create_customer(US_COMPANY, ours, request_id=f"cus-{uuid.uuid4()}")
    moved = dataclasses.replace(ours, billing_address=TEXAS)
    changes = moved.differences(made.customer)
    assert changes == {"billing_address", "shipping_address"}

    await setup.gateway.update_customer_details(US_COMPANY, made.id, moved, changes)

    read = await setup.gateway.get_customer(US_COMPANY, made.id)
    assert (read.customer.billing_address, read.customer.shipping_address) == (TEXAS, None)
    company = setup.emulator.emulator.store.company(US_REALM)
    assert company is not None
    assert company.table("Customer")[made.id]["ShipAddr"]["City"] == "Austin"
