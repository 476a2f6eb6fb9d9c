"""Invoice and payment behaviour, checked against the reference's fixtures (§3-§5, §12)."""

from __future__ import annotations

from decimal import Decimal

import qbo_fixtures as fx

from conftest import Api
from emulators.quickbooks.app import EMULATOR

F5_ERRORS = {
    item["bId"]: item["Fault"]["Error"][0] for item in fx.F5_BATCH_FAULTS["BatchItemResponse"]
}


def error_of(body: dict) -> dict:
    return body["Fault"]["Error"][0]


async def test_f1_request_gives_f1_shaped_response(us: Api):
    status, body = await us.post("invoice", fx.F1_REQUEST)
    assert status == 200
    assert set(body) == {"Invoice", "time"}
    invoice, expected = body["Invoice"], fx.F1_RESPONSE["Invoice"]
    # Every key of Intuit's sample is present, except the sandbox's ProjectRef.
    assert set(expected) - {"ProjectRef"} <= set(invoice)
    for key in (
        "domain",
        "sparse",
        "TotalAmt",
        "Balance",
        "Deposit",
        "SyncToken",
        "LinkedTxn",
        "EmailStatus",
        "PrintStatus",
        "ApplyTaxAfterDiscount",
        "TxnTaxDetail",
    ):
        assert invoice[key] == expected[key], key
    # Intuit's sample company turns on one sales custom field; the demo also has "PO Number".
    assert invoice["CustomField"][:1] == expected["CustomField"]
    assert invoice["CustomField"][1]["Name"] == "PO Number"
    assert invoice["CustomerRef"] == expected["CustomerRef"]
    assert invoice["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {
        "name": "Services",
        "value": "1",
    }
    assert invoice["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert invoice["Line"][0]["LineNum"] == 1
    assert invoice["Line"][0]["Id"] == "1"
    assert invoice["Line"][-1] == expected["Line"][-1]
    assert set(invoice["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    assert isinstance(invoice["Id"], str)
    assert invoice["BillAddr"]["City"] == "Bayshore"
    # "time" carries milliseconds and an offset; MetaData has neither milliseconds nor Z.
    assert body["time"][19] == "."
    assert body["time"][-6] in "+-"
    assert invoice["MetaData"]["CreateTime"][-6] in "+-"


async def test_dates_and_doc_number_are_filled_server_side(us: Api):
    await us.client.post("/_emulator/clock", json={"now": "2026-03-02T18:00:00Z", "freeze": True})
    first = await us.create_invoice()
    second = await us.create_invoice(SalesTermRef={"value": "2"})
    assert first["TxnDate"] == "2026-03-02"
    assert first["DueDate"] == "2026-04-01"  # company default Net 30
    assert second["DueDate"] == "2026-03-17"  # Net 15
    assert second["SalesTermRef"] == {"value": "2", "name": "Net 15"}
    assert int(second["DocNumber"]) == int(first["DocNumber"]) + 1
    explicit = await us.create_invoice(
        DueDate="2026-05-05", TxnDate="2026-03-01", DocNumber="D-4711"
    )
    assert (explicit["DueDate"], explicit["TxnDate"], explicit["DocNumber"]) == (
        "2026-05-05",
        "2026-03-01",
        "D-4711",
    )


async def test_a_date_driven_term_is_due_on_its_day_or_the_next_months(us: Api):
    status, body = await us.post(
        "term", {"Name": "15th of the month", "DayOfMonthDue": 15, "DueNextMonthDays": 5}
    )
    assert status == 200
    term = body["Term"]
    assert term["Type"] == "DATE_DRIVEN"
    ref = {"value": term["Id"]}
    await us.client.post("/_emulator/clock", json={"now": "2026-03-02T18:00:00Z", "freeze": True})
    assert (await us.create_invoice(SalesTermRef=ref))["DueDate"] == "2026-03-15"
    late = await us.create_invoice(SalesTermRef=ref, TxnDate="2026-03-11")  # 4 days before
    assert late["DueDate"] == "2026-04-15"


async def test_customer_terms_drive_the_due_date(us: Api):
    await us.client.post("/_emulator/clock", json={"now": "2026-03-02T18:00:00Z", "freeze": True})
    invoice = await us.create_invoice(CustomerRef={"value": "3"})  # Cool Cars: Net 15
    assert invoice["DueDate"] == "2026-03-17"


async def test_python_quickbooks_style_body_with_read_only_fields_is_accepted(us: Api):
    body = {
        "SyncToken": 0,
        "sparse": False,
        "domain": "QBO",
        "Balance": 0,
        "TotalAmt": "",
        "HomeBalance": 0,
        "InvoiceLink": "",
        "DueDate": "",
        "TxnDate": "",
        "ExchangeRate": 1,
        "GlobalTaxCalculation": "TaxExcluded",
        "PrintStatus": "NotSet",
        "EmailStatus": "NotSet",
        "CustomerRef": {"value": "1", "name": "", "type": ""},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 100,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "1", "name": "", "type": ""},
                    "UnitPrice": 0,
                    "Qty": 0,
                },
            }
        ],
    }
    status, data = await us.post("invoice", body)
    assert status == 200, data
    assert data["Invoice"]["TotalAmt"] == 100.0
    assert data["Invoice"]["SyncToken"] == "0"


async def test_amount_must_equal_qty_times_unit_price(us: Api):
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 58,
        "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 3, "UnitPrice": 20},
    }
    status, body = await us.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [line]})
    assert status == 400
    assert error_of(body) == {
        "Message": "Amount calculation incorrect in the request.",
        "Detail": "Amount is not equal to UnitPrice * Qty. Supplied value:58",
        "code": "6070",
        "element": "Line.Amount",
    }
    assert body["Fault"]["type"] == "ValidationFault"
    line["Amount"] = 60
    status, body = await us.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [line]})
    assert status == 200
    del line["Amount"]
    status, body = await us.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [line]})
    assert body["Invoice"]["TotalAmt"] == 60.0


async def test_required_fields_and_invalid_references(us: Api):
    status, body = await us.post("invoice", {"CustomerRef": {"value": "1"}})
    assert status == 400
    assert error_of(body)["code"] == "2020"
    assert error_of(body)["Detail"] == "Required parameter Line is missing in the request"
    status, body = await us.post("invoice", {"Line": fx.F1_REQUEST["Line"]})
    assert error_of(body)["Detail"] == "Required parameter CustomerRef is missing in the request"
    status, body = await us.post("invoice", {**fx.F1_REQUEST, "CustomerRef": {"value": "999"}})
    assert status == 400
    assert error_of(body)["code"] == "2500"
    assert error_of(body)["Message"] == "Invalid Reference Id"
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 1,
        "SalesItemLineDetail": {"ItemRef": {"value": "424242"}},
    }
    status, body = await us.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [line]})
    assert error_of(body)["code"] == "2500"
    status, body = await us.post(
        "invoice", {"CustomerRef": {"value": "1"}, "Line": [{"Amount": 5}]}
    )
    assert error_of(body)["code"] == "2020"


async def test_read_update_sparse_and_stale_sync_token(us: Api):
    invoice = await us.create_invoice()
    status, body = await us.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2030-09-30"}
    )
    assert status == 200
    updated = body["Invoice"]
    assert updated["SyncToken"] == "1"
    assert updated["DueDate"] == "2030-09-30"
    assert updated["TotalAmt"] == 100.0
    assert updated["DocNumber"] == invoice["DocNumber"]
    status, body = await us.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "late"}
    )
    assert status == 400
    assert error_of(body) == F5_ERRORS["bid3"]
    status, body = await us.get(f"invoice/{invoice['Id']}")
    assert body["Invoice"]["SyncToken"] == "1"
    assert "PrivateNote" not in body["Invoice"]


async def test_delete_then_read_is_610_and_delete_again_is_f6(us: Api):
    invoice = await us.create_invoice()
    ref = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
    status, body = await us.post("invoice", ref, operation="delete")
    assert status == 200
    assert body["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": invoice["Id"]}
    status, body = await us.get(f"invoice/{invoice['Id']}")
    assert status == 400
    assert body["Fault"] == fx.F6A_NOT_FOUND["Fault"]
    status, body = await us.post("invoice", ref, operation="delete")
    assert (status, body["Fault"]) == (400, fx.F6A_NOT_FOUND["Fault"])


async def test_void_zeroes_amounts_like_f3(us: Api):
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 825,
        "Description": "Rock Fountain",
        "SalesItemLineDetail": {"ItemRef": {"value": "5"}, "Qty": 3, "UnitPrice": 275},
    }
    created = await us.create_invoice(
        Line=[line], CustomerRef={"value": "8"}, PrivateNote="x", CustomerMemo={"value": "Thanks"}
    )
    assert created["TotalAmt"] > 825  # AST added California tax
    status, body = await us.post(
        "invoice", {"Id": created["Id"], "SyncToken": "0"}, operation="void"
    )
    assert status == 200
    voided, expected = body["Invoice"], fx.F3_VOIDED["Invoice"]
    assert set(expected) - {"ProjectRef", "SalesTermRef"} <= set(voided)
    assert voided["TotalAmt"] == expected["TotalAmt"] == 0
    assert voided["Balance"] == 0
    assert voided["TxnTaxDetail"] == expected["TxnTaxDetail"]
    assert voided["LinkedTxn"] == []
    assert voided["PrivateNote"] == "Voided - x"
    assert voided["SyncToken"] == "1"
    assert voided["DocNumber"] == created["DocNumber"]
    assert voided["CustomerRef"] == created["CustomerRef"]
    sales = voided["Line"][0]
    assert sales["Amount"] == 0
    assert sales["SalesItemLineDetail"]["Qty"] == 0
    assert sales["SalesItemLineDetail"]["ItemRef"] == {"value": "5", "name": "Rock Fountain"}
    assert sales["DetailType"] == "SalesItemLineDetail"  # CamelCase, not Intuit's enum sample
    assert voided["Line"][-1] == {
        "Amount": 0,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    plain = await us.create_invoice()
    status, body = await us.post("invoice", {"Id": plain["Id"], "SyncToken": "0"}, operation="void")
    assert body["Invoice"]["PrivateNote"] == "Voided"


async def test_send_sets_email_status_and_delivery_info(us: Api):
    invoice = await us.create_invoice()
    async with us.client.post(
        us.url(f"invoice/{invoice['Id']}/send"),
        params={"sendTo": "test+1@intuit.com", "minorversion": "75"},
        headers={**us.headers, "Content-Type": "application/octet-stream"},
    ) as resp:
        assert resp.status == 200
        body = await resp.json()
    sent = body["Invoice"]
    assert sent["EmailStatus"] == "EmailSent"
    assert sent["BillEmail"] == {"Address": "test+1@intuit.com"}
    assert sent["DeliveryInfo"]["DeliveryType"] == "Email"
    assert sent["DeliveryInfo"]["DeliveryTime"][-6] in "+-"
    assert sent["SyncToken"] == "1"


async def test_pdf_is_a_real_pdf_with_doc_number_and_customer(us: Api):
    invoice = await us.create_invoice(DocNumber="PDF-42")
    async with us.client.get(
        us.url(f"invoice/{invoice['Id']}/pdf"),
        headers={"Authorization": f"Bearer {us.token}", "Accept": "application/pdf"},
    ) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/pdf"
        data = await resp.read()
    assert data.startswith(b"%PDF-1.")
    assert data.rstrip().endswith(b"%%EOF")
    assert b"PDF-42" in data
    assert b"Amy's Bird Sanctuary" in data
    assert b"100.00" in data
    xref = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[xref : xref + 4] == b"xref"
    status, body = await us.get("invoice/99999/pdf")
    assert status == 400
    assert error_of(body)["code"] == "610"


async def test_payment_reduces_balance_and_bumps_invoice(us: Api):
    invoice = await us.create_invoice()
    payment = {
        "TotalAmt": 25,
        "CustomerRef": {"value": "1"},
        "Line": [{"Amount": 25, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }
    status, body = await us.post("payment", payment)
    assert status == 200, body
    created = body["Payment"]
    assert created["UnappliedAmt"] == 0
    assert created["DepositToAccountRef"]["name"] == "Undeposited Funds"
    status, body = await us.get(f"invoice/{invoice['Id']}")
    after = body["Invoice"]
    assert after["Balance"] == 75.0
    assert after["TotalAmt"] == 100.0
    assert after["SyncToken"] == "1"
    assert after["LinkedTxn"] == [{"TxnId": created["Id"], "TxnType": "Payment"}]
    assert after["MetaData"]["LastUpdatedTime"] >= invoice["MetaData"]["LastUpdatedTime"]
    status, body = await us.post(
        "payment", {**payment, "TotalAmt": 80, "Line": [{**payment["Line"][0], "Amount": 80}]}
    )
    assert status == 400
    assert error_of(body)["code"] == "6000"
    # Deleting the payment restores the balance.
    status, body = await us.post(
        "payment", {"Id": created["Id"], "SyncToken": "0"}, operation="delete"
    )
    assert status == 200
    status, body = await us.get(f"invoice/{invoice['Id']}")
    assert body["Invoice"]["Balance"] == 100.0
    assert body["Invoice"]["LinkedTxn"] == []


async def test_invoice_with_payment_cannot_be_deleted_but_void_unlinks(us: Api):
    invoice = await us.create_invoice()
    async with us.client.post(
        f"/_emulator/companies/{us.realm}/payments", json={"invoice_id": invoice["Id"]}
    ) as resp:
        paid = await resp.json()
    assert paid["Invoice"]["Balance"] == 0
    token = paid["Invoice"]["SyncToken"]
    status, body = await us.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": token}, operation="delete"
    )
    assert status == 400
    status, body = await us.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": token}, operation="void"
    )
    assert status == 200
    status, body = await us.get(f"payment/{paid['Payment']['Id']}")
    assert body["Payment"]["UnappliedAmt"] == 100.0
    assert body["Payment"]["Line"] == []


async def test_payment_void_restores_invoice_balance(us: Api):
    invoice = await us.create_invoice()
    status, body = await us.post(
        "payment",
        {
            "TotalAmt": 40,
            "CustomerRef": {"value": "1"},
            "Line": [{"Amount": 40, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    payment = body["Payment"]
    status, body = await us.post(
        "payment",
        {"Id": payment["Id"], "SyncToken": "0", "sparse": True},
        operation="update",
        include="void",
    )
    assert status == 200
    assert body["Payment"]["TotalAmt"] == 0
    status, body = await us.get(f"invoice/{invoice['Id']}")
    assert body["Invoice"]["Balance"] == 100.0


async def test_discount_line_and_us_automated_sales_tax(us: Api):
    lines = [
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": 275,
            "SalesItemLineDetail": {"ItemRef": {"value": "5"}, "Qty": 1, "UnitPrice": 275},
        },
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": 100,
            "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "TaxCodeRef": {"value": "NON"}},
        },
        {
            "DetailType": "DiscountLineDetail",
            "Amount": 0,
            "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
        },
    ]
    invoice = await us.create_invoice(Line=lines)
    assert invoice["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}
    assert invoice["Line"][2]["Amount"] == 37.5
    assert invoice["Line"][-1]["Amount"] == 375.0
    tax = invoice["TxnTaxDetail"]
    assert tax["TxnTaxCodeRef"] == {"value": "2"}  # California, from the ship-to address
    assert tax["TotalTax"] == 22.69  # 275 * 8.25 %, tax before discount
    assert invoice["TotalAmt"] == 375 - 37.5 + 22.69
    assert {t["TaxLineDetail"]["TaxPercent"] for t in tax["TaxLine"]} == {7.25, 1}


async def test_automated_sales_tax_is_for_the_ship_to_address_never_the_billing_one(us: Api):
    """The ShipAddr, else the customer's, else the company's address (reference §3.3)."""
    new_york = {"Line1": "1 Broadway", "City": "New York", "CountrySubDivisionCode": "NY"}
    status, made = await us.post("customer", {"DisplayName": "Billed In NY", "BillAddr": new_york})
    assert status == 200, made
    taxed = [
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": 100,
            "SalesItemLineDetail": {"ItemRef": {"value": "5"}, "Qty": 1, "UnitPrice": 100},
        }
    ]
    customer = {"value": made["Customer"]["Id"]}
    billed = await us.create_invoice(CustomerRef=customer, Line=taxed, BillAddr=new_york)
    shipped = await us.create_invoice(CustomerRef=customer, Line=taxed, ShipAddr=new_york)

    assert billed["TxnTaxDetail"]["TxnTaxCodeRef"] == {"value": "2"}  # the company's: CA
    assert shipped["TxnTaxDetail"]["TxnTaxCodeRef"] == {"value": "3"}  # New York


async def test_ast_honours_an_explicit_tax_amount(us: Api):
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 275,
        "SalesItemLineDetail": {"ItemRef": {"value": "5"}},
    }
    invoice = await us.create_invoice(Line=[line], TxnTaxDetail={"TotalTax": 10})
    assert invoice["TxnTaxDetail"]["TotalTax"] == 10
    assert sum(t["Amount"] for t in invoice["TxnTaxDetail"]["TaxLine"]) == 10


async def test_uk_vat_per_line_tax_codes(uk: Api):
    lines = [
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": 240,
            "SalesItemLineDetail": {
                "ItemRef": {"value": "2"},
                "Qty": 2,
                "UnitPrice": 120,
                "TaxCodeRef": {"value": "2"},
            },
        },
        {
            "DetailType": "SalesItemLineDetail",
            "Amount": 100,
            "SalesItemLineDetail": {"ItemRef": {"value": "4"}, "TaxCodeRef": {"value": "3"}},
        },
    ]
    invoice = await uk.create_invoice(
        Line=lines, CurrencyRef={"value": "GBP"}, GlobalTaxCalculation="TaxExcluded"
    )
    assert invoice["TxnTaxDetail"]["TotalTax"] == 53.0  # 48 + 5
    assert invoice["TotalAmt"] == 393.0
    assert invoice["HomeTotalAmt"] == 393.0
    assert invoice["GlobalTaxCalculation"] == "TaxExcluded"
    assert "TxnTaxCodeRef" not in invoice["TxnTaxDetail"]


async def test_uk_requires_global_tax_calculation_and_line_tax_codes(uk: Api):
    status, body = await uk.post("invoice", {**fx.F1_REQUEST, "CurrencyRef": {"value": "GBP"}})
    assert status == 400
    assert error_of(body)["Detail"] == (
        "Required parameter GlobalTaxCalculation is missing in the request"
    )
    await uk.client.post(
        "/_emulator/seed",
        json={
            "companies": [
                {"realm_id": uk.realm, "items": [{"Name": "Untaxed thing", "Type": "Service"}]}
            ]
        },
    )
    status, body = await uk.query("select * from Item where Name = 'Untaxed thing'")
    item_id = body["QueryResponse"]["Item"][0]["Id"]
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 10,
        "SalesItemLineDetail": {"ItemRef": {"value": item_id}},
    }
    status, body = await uk.post(
        "invoice",
        {
            "CustomerRef": {"value": "1"},
            "Line": [line],
            "CurrencyRef": {"value": "GBP"},
            "GlobalTaxCalculation": "TaxExcluded",
        },
    )
    assert status == 400
    assert error_of(body)["code"] == "6000"
    assert "VAT rate" in error_of(body)["Detail"]


async def test_currency_rules(us: Api, uk: Api):
    status, body = await us.post("invoice", {**fx.F1_REQUEST, "CurrencyRef": {"value": "EUR"}})
    assert status == 400
    assert error_of(body)["code"] == "6000"
    base = {"GlobalTaxCalculation": "TaxExcluded", "Line": fx.F1_REQUEST["Line"]}
    status, body = await uk.post("invoice", {**base, "CustomerRef": {"value": "1"}})
    assert status == 400
    assert "CurrencyRef" in error_of(body)["Detail"]
    status, body = await uk.post(
        "invoice", {**base, "CustomerRef": {"value": "3"}, "CurrencyRef": {"value": "GBP"}}
    )
    assert status == 400  # Müller GmbH bills in EUR
    status, body = await uk.post(
        "invoice",
        {
            **base,
            "CustomerRef": {"value": "3"},
            "CurrencyRef": {"value": "EUR"},
            "ExchangeRate": 0.85,
        },
    )
    assert status == 200, body
    invoice = body["Invoice"]
    assert invoice["CurrencyRef"] == {"value": "EUR", "name": "Euro"}
    assert invoice["ExchangeRate"] == 0.85
    assert invoice["TotalAmt"] == 120.0
    assert invoice["HomeTotalAmt"] == 102.0


async def test_custom_transaction_numbers_leave_doc_number_null(us: Api):
    await us.client.post(
        f"/_emulator/companies/{us.realm}/preferences", json={"custom_txn_numbers": True}
    )
    invoice = await us.create_invoice()
    assert "DocNumber" not in invoice
    _status, body = await us.get("preferences")
    assert body["Preferences"]["SalesFormsPrefs"]["CustomTxnNumbers"] is True


async def test_duplicate_doc_number_is_rejected_unless_allowed(us: Api):
    await us.create_invoice(DocNumber="DUP-1")
    status, body = await us.post("invoice", {**fx.F1_REQUEST, "DocNumber": "DUP-1"})
    assert status == 400
    assert error_of(body)["code"] == "6140"
    status, body = await us.post(
        "invoice", {**fx.F1_REQUEST, "DocNumber": "DUP-1"}, include="allowduplicatedocnum"
    )
    assert status == 200
    status, body = await us.post("invoice", {**fx.F1_REQUEST, "DocNumber": "X" * 22})
    assert status == 400
    assert error_of(body)["code"] == "2050"


async def test_custom_field_values_round_trip(us: Api):
    invoice = await us.create_invoice(
        CustomField=[
            {"DefinitionId": "1", "Type": "StringType", "StringValue": "PO-9981"},
            {"DefinitionId": "3", "Type": "StringType", "StringValue": "ignored"},
        ]
    )
    assert invoice["CustomField"] == [
        {"DefinitionId": "1", "Type": "StringType", "Name": "Crew #", "StringValue": "PO-9981"},
        {"DefinitionId": "2", "Type": "StringType", "Name": "PO Number"},
    ]


async def test_companyinfo_preferences_and_reference_entities(us: Api, uk: Api):
    status, body = await us.get(f"companyinfo/{us.realm}")
    assert body["CompanyInfo"]["Country"] == "US"
    assert body["CompanyInfo"]["CompanyAddr"]["Country"] == "USA"
    status, body = await us.get("preferences")
    prefs = body["Preferences"]
    assert prefs["CurrencyPrefs"] == {
        "MultiCurrencyEnabled": False,
        "HomeCurrency": {"value": "USD"},
    }
    assert prefs["TaxPrefs"]["PartnerTaxEnabled"] is True
    status, body = await us.get("term/3")
    assert body["Term"]["Name"] == "Net 30"
    assert body["Term"]["DueDays"] == 30
    status, body = await us.get("item/1")
    assert body["Item"]["Name"] == "Services"
    status, body = await uk.get("taxcode/2")
    assert body["TaxCode"]["Name"] == "20.0% S"
    status, body = await uk.query("select * from CompanyCurrency")
    assert status == 200
    assert {c["Code"] for c in body["QueryResponse"]["CompanyCurrency"]} == {"EUR", "USD"}
    _status, body = await uk.get("exchangerate", sourcecurrencycode="EUR")
    assert body["ExchangeRate"]["TargetCurrencyCode"] == "GBP"


async def test_request_amounts_are_read_exactly_not_through_a_float(us: Api):
    """18 significant digits: a float would keep 1234567890123456.8 (reference §3.2 decimal)."""
    body = (
        '{"CustomerRef":{"value":"1"},"Line":[{"DetailType":"SalesItemLineDetail",'
        '"Amount":1234567890123456.78,"SalesItemLineDetail":{"ItemRef":{"value":"1"}}}]}'
    )
    async with us.client.post(
        us.url("invoice"),
        params={"minorversion": "75"},
        data=body,
        headers={**us.headers, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 200, await response.text()
        created = (await response.json())["Invoice"]
    company = us.client.server.app[EMULATOR].store.company(us.realm)
    assert company is not None
    stored = company.table("Invoice")[created["Id"]]
    assert stored["Line"][0]["Amount"] == Decimal("1234567890123456.78")
    assert stored["TotalAmt"] == Decimal("1234567890123456.78")
