"""A currency ISO 4217 gives 3 decimals (KWD, BHD, OMR, JOD, TND, LYD, IQD) is kept to 2 by
QuickBooks [O]: the preview is rounded to 2 as well, so the body the adapter sends makes
QuickBooks record the preview's total, tax and balance to the fils. QuickBooks here is the
emulator's invoice logic, run in process on the UK demo company with KWD turned on."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.quickbooks.mappers import invoice_to_qbo
from domain.invoice import Invoice
from domain.invoice_line import InvoiceLine, TaxMethod
from domain.invoice_template import InvoiceExtras
from domain.money import Money
from emulators.quickbooks.invoices import build_invoice
from emulators.quickbooks.rules import Ctx
from emulators.quickbooks.seed import demo_intl, put
from emulators.quickbooks.store import Company
from tests.integration.quickbooks.test_tax_properties import NOW, item_lines, uk_invoice

KUWAIT_CUSTOMER = "901"


def _company() -> Company:
    company = demo_intl("9130354840922468", NOW)
    put(company, "CompanyCurrency", "9", {"Code": "KWD", "Name": "Kuwaiti Dinar"}, NOW)
    put(
        company,
        "Customer",
        KUWAIT_CUSTOMER,
        {"DisplayName": "Gulf Trading", "Active": True, "CurrencyRef": {"value": "KWD"}},
        NOW,
    )
    return company


def _invoice(lines: list[InvoiceLine]) -> Invoice:
    return uk_invoice(lines, "KWD", KUWAIT_CUSTOMER)


def _recorded(invoice: Invoice, deposit: Decimal | None = None) -> dict[str, Money]:
    body = invoice_to_qbo(
        invoice,
        is_us=False,
        item_ids_by_name={},
        extras=InvoiceExtras(deposit=deposit) if deposit else None,
    )
    # Refused bodies raise here (6070 Amount != Qty x UnitPrice, a missing tax code ...).
    recorded = build_invoice(Ctx(_company(), NOW), body, None, body)
    assert recorded["CurrencyRef"]["value"] == "KWD"
    return {
        "total": Money(Decimal(str(recorded["TotalAmt"])), "KWD"),
        "tax": Money(Decimal(str(recorded.get("TxnTaxDetail", {}).get("TotalTax", 0))), "KWD"),
        "balance": Money(Decimal(str(recorded["Balance"])), "KWD"),
    }


def test_a_kwd_invoice_previews_what_quickbooks_records_to_two_places() -> None:
    invoice = _invoice(
        [
            # 3 x 1.0005 = 3.0015: 3.00 (ISO's 3 places would preview 3.002, recorded as 3.00)
            InvoiceLine("Widgets", Decimal(3), Decimal("1.0005"), tax_code_ref="4"),
            InvoiceLine(
                "Support",
                Decimal(1),
                Decimal("10.125"),
                tax_rate=Decimal(5),
                tax_method=TaxMethod.EXCLUSIVE,
                tax_code_ref="3",
            ),
        ]
    )
    preview = invoice.totals()

    assert (preview.total.to_decimal_string(), preview.tax.to_decimal_string()) == (
        "13.64",
        "0.51",
    )  # 3.00 + 10.13 + 5 % of 10.13
    recorded = _recorded(invoice, deposit=Decimal("1.50"))
    assert recorded["total"] == preview.total
    assert recorded["tax"] == preview.tax
    assert recorded["balance"] == preview.total - Money.of("1.50", "KWD")


# Prices in fils, as a Pipedrive deal in KWD may carry them.
_fils = st.integers(min_value=1, max_value=5_000_000).map(lambda f: Decimal(f).scaleb(-3))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(item_lines(prices=_fils), min_size=1, max_size=5))
def test_quickbooks_records_any_kwd_previews_total_and_tax(lines: list[InvoiceLine]) -> None:
    invoice = _invoice(lines)
    preview = invoice.totals()

    recorded = _recorded(invoice)

    assert recorded["total"] == preview.total
    assert recorded["tax"] == preview.tax
