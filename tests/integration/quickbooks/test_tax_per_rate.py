"""QuickBooks rounds each tax rate once per invoice, on the sum of the amounts taxed at it: a
US group's state and county rates one by one, not their sum. The adapter reads a code's rates,
the form taxes the lines with them, and QuickBooks records the preview's tax, which is also its
own arithmetic (its tax lines per rate)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from application.invoicing.checks import taxed_by_sales_tax_code
from domain.invoice_line import InvoiceLine, TaxPart
from domain.money import Money
from tests.integration.quickbooks.harness import US_REALM, connected, invoice

pytestmark = pytest.mark.integration
US_COMPANY = "3001"


async def test_a_groups_rates_are_each_rounded_as_quickbooks_rounds_them() -> None:
    """10.25 in California: 7.25 % is 0.743 and San Mateo County's 1 % 0.1025, so QuickBooks
    charges 0.74 + 0.10 = 0.84 (8.25 % of it in one would be 0.85)."""
    async with connected((US_COMPANY, US_REALM)) as setup:
        await setup.emulator.admin(
            "POST", f"companies/{US_REALM}/preferences", {"automated_sales_tax": False}
        )
        options = await setup.gateway.invoice_options(US_COMPANY)
        [california] = [code for code in options.sales_tax_codes if code.id == "2"]
        assert california.rate_on(date.today()) == Decimal("8.25")
        assert california.parts_on(date.today()) == (
            TaxPart("1", Decimal("7.25")),
            TaxPart("2", Decimal(1)),
        )

        work = InvoiceLine(
            "Work", Decimal(1), Decimal("10.25"), name="Services", tax_code_ref="TAX"
        )
        lines, warnings = taxed_by_sales_tax_code([work], options, "2", date.today())
        draft = invoice("1", lines, sales_tax_code_id="2")
        created = await setup.gateway.create_invoice(
            US_COMPANY, draft, request_id=f"inv-{draft.id}"
        )

        recorded = setup.emulator.invoices(US_REALM)[created.id]
        tax_lines = recorded["TxnTaxDetail"]["TaxLine"]
    assert warnings == []
    assert draft.totals().tax == Money.of("0.84", "USD")
    assert created.total == draft.totals().total == Money.of("11.09", "USD")
    assert [
        (line["TaxLineDetail"]["TaxRateRef"]["value"], Decimal(str(line["Amount"])))
        for line in tax_lines
    ] == [("1", Decimal("0.74")), ("2", Decimal("0.10"))]


async def test_after_a_discount_each_rate_taxes_its_amount_to_the_cent() -> None:
    """10.00 taxable and 10.00 not, less 0.01 before tax: QuickBooks takes the discount off both
    (9.995 of the taxable one), and its tax lines say 10.00 taxed at 7.25 %, 0.73, and at 1 %,
    0.10 [U: that it taxes the amount to the cent it shows]. The preview says 0.83 too."""
    async with connected((US_COMPANY, US_REALM)) as setup:
        await setup.emulator.admin(
            "POST", f"companies/{US_REALM}/preferences", {"automated_sales_tax": False}
        )
        options = await setup.gateway.invoice_options(US_COMPANY)
        taxable = InvoiceLine("Work", Decimal(1), Decimal(10), name="Services", tax_code_ref="TAX")
        exempt = InvoiceLine("Book", Decimal(1), Decimal(10), name="Services", tax_code_ref="NON")
        lines, _ = taxed_by_sales_tax_code([taxable, exempt], options, "2", date.today())
        loyalty = InvoiceLine.discount_line("Loyalty", Decimal("0.01"))
        draft = invoice("1", [*lines, loyalty], sales_tax_code_id="2")
        body_tax = draft.totals().tax
        created = await setup.gateway.create_invoice(
            US_COMPANY, draft, request_id=f"inv-{draft.id}"
        )

        recorded = setup.emulator.invoices(US_REALM)[created.id]
    assert body_tax == Money.of("0.83", "USD")
    assert created.total == draft.totals().total == Money.of("20.82", "USD")
    assert [
        (
            line["TaxLineDetail"]["TaxRateRef"]["value"],
            Decimal(str(line["TaxLineDetail"]["NetAmountTaxable"])),
            Decimal(str(line["Amount"])),
        )
        for line in recorded["TxnTaxDetail"]["TaxLine"]
    ] == [("1", Decimal("10.00"), Decimal("0.73")), ("2", Decimal("10.00"), Decimal("0.10"))]
