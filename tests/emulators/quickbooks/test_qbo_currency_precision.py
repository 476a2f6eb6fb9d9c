"""Amounts as QuickBooks keeps them: to 2 places in every currency [O], those ISO 4217 gives 3
decimals (KWD, BHD, OMR ...) included."""

from __future__ import annotations

from decimal import Decimal

from conftest import Api
from emulators.quickbooks.app import EMULATOR


async def test_a_three_decimal_currency_is_kept_to_two_places_as_quickbooks_keeps_it(uk: Api):
    """[O] QuickBooks keeps line amounts, tax and totals to 2 places in every currency, KWD
    (3 in ISO 4217) included: 3 x 1.0005 KWD is a line of 3.00, taxed at 5 %: 0.15."""
    company = uk.client.server.app[EMULATOR].store.company(uk.realm)
    assert company is not None
    company.table("CompanyCurrency")["9"] = {"Id": "9", "Code": "KWD", "Active": True}
    company.table("Customer")["901"] = {
        **company.table("Customer")["1"],
        "Id": "901",
        "DisplayName": "Gulf Trading",
        "CurrencyRef": {"value": "KWD"},
    }
    line = {
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {
            "ItemRef": {"value": "2"},
            "Qty": 3,
            "UnitPrice": 1.0005,
            "TaxCodeRef": {"value": "3"},
        },
    }
    invoice = await uk.create_invoice(
        CustomerRef={"value": "901"},
        Line=[line],
        CurrencyRef={"value": "KWD"},
        GlobalTaxCalculation="TaxExcluded",
    )
    assert invoice["CurrencyRef"]["value"] == "KWD"
    assert invoice["Line"][0]["Amount"] == 3.0
    assert invoice["Line"][0]["SalesItemLineDetail"]["UnitPrice"] == 1.0005
    assert invoice["TxnTaxDetail"]["TotalTax"] == 0.15
    assert invoice["TotalAmt"] == 3.15
    stored = company.table("Invoice")[invoice["Id"]]
    assert stored["TotalAmt"] == Decimal("3.15")
