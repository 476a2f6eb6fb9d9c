# ruff: noqa: E501  (verbatim vendor payloads keep their lines)
"""The reference's verbatim QuickBooks payloads (quickbooks.md §12) parse into domain values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from adapters.quickbooks.cdc import changes_from_cdc
from adapters.quickbooks.client import qbo_request_id
from adapters.quickbooks.faults import (
    QuickBooksRejectedError,
    fault_error,
    fault_from_json,
    fault_from_xml,
)
from adapters.quickbooks.mappers import invoice_from_qbo
from adapters.quickbooks.webhook_payloads import notices_from_payload
from adapters.vendor_http.client import loads
from application.errors import (
    IntegrationNotConnectedError,
    NotFoundError,
    UpstreamUnavailableError,
)
from application.reasons import MetadataKey, Reason
from domain.money import Money

F1_RESPONSE = """{"Invoice": {"TxnDate": "2015-07-24", "domain": "QBO", "PrintStatus": "NeedToPrint",
"TotalAmt": 100.0, "Line": [{"LineNum": 1, "Amount": 100.0, "SalesItemLineDetail": {"TaxCodeRef":
{"value": "NON"}, "ItemRef": {"name": "Services", "value": "1"}}, "Id": "1", "DetailType":
"SalesItemLineDetail"}, {"DetailType": "SubTotalLineDetail", "Amount": 100.0, "SubTotalLineDetail":
{}}], "DueDate": "2015-08-23", "ApplyTaxAfterDiscount": false, "DocNumber": "1069", "sparse":
false, "ProjectRef": {"value": "39298034"}, "Deposit": 0, "Balance": 100.0, "CustomerRef": {"name":
"Amy's Bird Sanctuary", "value": "1"}, "TxnTaxDetail": {"TotalTax": 0}, "SyncToken": "0",
"LinkedTxn": [], "ShipAddr": {"City": "Bayshore", "Line1": "4581 Finch St.", "PostalCode": "94326",
"Lat": "INVALID", "Long": "INVALID", "CountrySubDivisionCode": "CA", "Id": "109"}, "EmailStatus":
"NotSet", "BillAddr": {"City": "Bayshore", "Line1": "4581 Finch St.", "PostalCode": "94326", "Lat":
"INVALID", "Long": "INVALID", "CountrySubDivisionCode": "CA", "Id": "2"}, "MetaData":
{"CreateTime": "2015-07-24T10:33:39-07:00", "LastUpdatedTime": "2015-07-24T10:33:39-07:00"},
"CustomField": [{"DefinitionId": "1", "Type": "StringType", "Name": "Crew #"}], "Id": "238"},
"time": "2015-07-24T10:33:39.11-07:00"}"""

F3_VOIDED = """{"Invoice": {"AllowOnlineACHPayment": false, "domain": "QBO", "TxnDate": "2014-11-09",
"PrintStatus": "NEED_TO_PRINT", "SalesTermRef": {"value": "3"}, "TotalAmt": 0, "Line": [
{"Description": "Sod", "DetailType": "SALES_ITEM_LINE_DETAIL", "SalesItemLineDetail": {"TaxCodeRef":
{"value": "TAX"}, "Qty": 0, "ItemRef": {"name": "Sod", "value": "14"}}, "LineNum": 1, "Amount": 0,
"Id": "1"}, {"DetailType": "SUB_TOTAL_LINE_DETAIL", "Amount": 0, "SubTotalLineDetail": {}}],
"DueDate": "2014-12-09", "MetaData": {"CreateTime": "2014-11-09T13:15:36-08:00",
"LastUpdatedTime": "2016-03-16T12:27:10-07:00"}, "DocNumber": "1036", "PrivateNote": "Voided",
"sparse": false, "CustomerMemo": {"value": "Thank you for your business and have a great day!"},
"ProjectRef": {"value": "39298045"}, "Deposit": 0, "Balance": 0, "CustomerRef": {"name":
"0969 Ocean View Road", "value": "8"}, "TxnTaxDetail": {"TotalTax": 0},
"AllowOnlineCreditCardPayment": false, "SyncToken": "1", "LinkedTxn": [], "BillEmail": {"Address":
"Sporting_goods@intuit.com"}, "EmailStatus": "NOT_SET", "ApplyTaxAfterDiscount": false, "Id": "129",
"AllowOnlinePayment": false, "AllowIPNPayment": false}, "time": "2016-03-16T12:27:10.711-07:00"}"""

# F4 with Intuit's "..." elisions replaced by entity objects (the reference asks fixtures to).
F4_CDC = """{"CDCResponse": [{"QueryResponse": [{"Invoice": [{"Id": "34", "SyncToken": "2",
"TotalAmt": 477.5, "Balance": 377.5, "CurrencyRef": {"value": "USD"}, "CustomerRef": {"value": "8"},
"DueDate": "2015-12-30", "TxnDate": "2015-11-30", "EmailStatus": "EmailSent", "MetaData":
{"LastUpdatedTime": "2015-12-23T12:50:01-08:00"}}, {"domain": "QBO", "status": "Deleted", "Id": "979",
"MetaData": {"LastUpdatedTime": "2015-12-23T12:55:50-08:00"}}], "startPosition": 1, "maxResults": 2},
{"Payment": [{"Id": "99", "TotalAmt": 100.0, "CustomerRef": {"value": "8"}, "Line": [{"Amount":
100.0, "LinkedTxn": [{"TxnId": "34", "TxnType": "Invoice"}]}, {"Amount": 0, "LinkedTxn": [{"TxnId":
"35", "TxnType": "Invoice"}]}]}], "startPosition": 1, "maxResults": 1}]}],
"time": "2015-12-23T10:00:01-07:00"}"""

F4_NO_CHANGES = '{"CDCResponse":[{"QueryResponse":[{}]}],"time":"2015-12-23T12:36:51.763-08:00"}'

F5_BATCH = """{"BatchItemResponse": [{"Fault": {"type": "ValidationFault", "Error": [{"Message":
"Duplicate Name Exists Error", "code": "6240", "Detail": "The name supplied already exists. :
Another customer, vendor or employee is already using this name. Please use a different name.",
"element": ""}]}, "bId": "bid1"}, {"Fault": {"type": "ValidationFault", "Error": [{"Message":
"Object Not Found", "code": "610", "Detail": "Object Not Found : Something you're trying to use has
been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
"element": ""}]}, "bId": "bid2"}, {"Fault": {"type": "ValidationFault", "Error": [{"Message":
"Stale Object Error", "code": "5010", "Detail": "Stale Object Error : You and root were working on
this at the same time. root finished before you did, so your work was not saved.", "element": ""}]},
"bId": "bid3"}, {"Invoice": {"Id": "5", "TotalAmt": 1}, "bId": "bid4"}],
"time": "2016-04-15T09:01:18.141-07:00"}""".replace("\n", " ")

F6_A = (
    '{"Fault":{"Error":[{"Message":"Object Not Found","Detail":"Object Not Found : Something '
    "you're trying to use has been made inactive. Check the fields with accounts, customers, "
    'items, vendors or employees.","code":"610","element":""}],"type":"ValidationFault"},'
    '"time":"2018-03-20T20:15:59.571-07:00"}'
)
F6_B = (
    '{"Fault":{"Error":[{"Message":"Result Set Big Error","Detail":"Result Set Big Error : Report '
    'too large, please customize","code":"10100","element":"ReportName"}],"type":"ValidationFault"},'
    '"time":"2024-06-24T10:19:14.384-07:00"}'
)
F6_401 = (
    '{"warnings":null,"intuitObject":null,"fault":{"error":[{"message":"message=Authentication'
    'Failed; errorCode=003200; statusCode=401","detail":"Token expired: AB01730024136mqEofYN9","code"'
    ':"3200","element":null}],"type":"AUTHENTICATION"},"report":null,"queryResponse":null,'
    '"batchItemResponse":[],"attachableResponse":[],"syncErrorResponse":null,"requestId":null,'
    '"time":1730024394085,"status":null,"cdcresponse":[]}'
)
XML_THROTTLE = """<IntuitResponse time="2017-07-30T22:45:22.933-07:00" xmlns="http://schema.intuit.com/finance/v3">
    <Fault type="SERVICE">
        <Error code="3001">
            <Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>
            <Detail>The request limit was reached.  Try again later</Detail>
        </Error>
    </Fault>
</IntuitResponse>"""

PACIFIC = timezone(timedelta(hours=-7))


def test_f1_created_invoice_parses_into_open_invoice_facts() -> None:
    facts = invoice_from_qbo(loads(F1_RESPONSE)["Invoice"])
    assert facts.id == "238"
    assert facts.doc_number == "1069"
    assert facts.sync_token == "0"
    assert facts.currency == "USD"  # no CurrencyRef in the 2015 sample: the home currency
    assert facts.total == Money.of("100.00", "USD")
    assert facts.balance == Money.of("100.00", "USD")
    assert facts.due_date == date(2015, 8, 23)
    assert facts.txn_date == date(2015, 7, 24)
    assert facts.customer_id == "1"
    assert not facts.voided
    assert facts.email_status == "NotSet"
    assert facts.last_updated == datetime(2015, 7, 24, 10, 33, 39, tzinfo=PACIFIC)
    assert facts.bill_email is None


def test_f3_voided_invoice_with_enum_spellings_parses_as_voided() -> None:
    facts = invoice_from_qbo(loads(F3_VOIDED)["Invoice"], "USD")
    assert facts.voided
    assert facts.total.is_zero()
    assert facts.balance.is_zero()
    assert facts.sync_token == "1"
    assert facts.email_status == "NotSet"
    assert facts.bill_email == "Sporting_goods@intuit.com"
    assert facts.doc_number == "1036"


def test_a_paid_zero_note_invoice_is_not_taken_for_voided() -> None:
    body = loads(F1_RESPONSE)["Invoice"]
    body.update(Balance=0, PrivateNote="Paid by card")
    assert not invoice_from_qbo(body).voided


def test_f4_cdc_lists_changed_and_deleted_invoices_and_payment_links() -> None:
    as_of = datetime(2015, 12, 23, 17, 0, 5, tzinfo=UTC)
    changes = changes_from_cdc(loads(F4_CDC), as_of)
    assert [i.id for i in changes.invoices] == ["34"]
    assert changes.invoices[0].balance == Money.of("377.50", "USD")
    assert changes.deleted_invoice_ids == ("979",)
    assert changes.payment_invoice_ids == ("34", "35")
    assert changes.as_of == datetime(2015, 12, 23, 10, 0, 1, tzinfo=PACIFIC)

    empty = changes_from_cdc(loads(F4_NO_CHANGES), as_of)
    assert empty.invoices == ()
    assert empty.deleted_invoice_ids == ()
    assert empty.payment_invoice_ids == ()


def test_f5_batch_item_faults_become_application_errors() -> None:
    items = {item["bId"]: item for item in loads(F5_BATCH)["BatchItemResponse"]}

    def error(bid: str) -> Exception:
        fault = fault_from_json(items[bid])
        assert fault is not None
        return fault_error(fault, 400, "1-abc")

    duplicate, missing, stale = error("bid1"), error("bid2"), error("bid3")
    assert isinstance(duplicate, QuickBooksRejectedError)
    assert duplicate.code == "6240"
    assert duplicate.reason == Reason.QUICKBOOKS_REJECTED
    assert duplicate.metadata[MetadataKey.VENDOR_CODE] == "6240"
    assert duplicate.metadata[MetadataKey.INTUIT_TID] == "1-abc"
    assert "already has a customer" in duplicate.message
    assert isinstance(missing, NotFoundError)
    assert missing.reason == Reason.QUICKBOOKS_OBJECT_NOT_FOUND
    assert missing.metadata[MetadataKey.VENDOR_CODE] == "610"
    assert isinstance(stale, QuickBooksRejectedError)
    assert stale.code == "5010"
    assert "at the same time" in stale.message
    assert fault_from_json(items["bid4"]) is None


def test_f6_top_level_faults_become_application_errors() -> None:
    not_found = fault_from_json(loads(F6_A))
    assert not_found is not None
    assert isinstance(fault_error(not_found, 400, "t"), NotFoundError)

    too_big = fault_from_json(loads(F6_B))
    assert too_big is not None
    error = fault_error(too_big, 400, "tid-1")
    assert isinstance(error, QuickBooksRejectedError)
    assert error.metadata == {
        MetadataKey.VENDOR_CODE: "10100",
        MetadataKey.INTUIT_TID: "tid-1",
        MetadataKey.VENDOR_MESSAGE: "Result Set Big Error",
        MetadataKey.VENDOR_DETAIL: "Result Set Big Error : Report too large, please customize",
        MetadataKey.ELEMENT: "ReportName",
    }
    assert error.message.startswith("QuickBooks refused the request:")

    expired = fault_from_json(loads(F6_401))
    assert expired is not None
    assert expired.code == "3200"
    assert isinstance(fault_error(expired, 401, "t"), IntegrationNotConnectedError)


def test_an_xml_throttle_fault_is_read_as_a_retryable_unavailability() -> None:
    fault = fault_from_xml(XML_THROTTLE)
    assert fault is not None
    assert fault.code == "3001"
    assert fault.type == "SERVICE"
    assert fault.detail == "The request limit was reached.  Try again later"
    error = fault_error(fault, 429, "t")
    assert isinstance(error, UpstreamUnavailableError)
    assert error.reason == Reason.QUICKBOOKS_UNAVAILABLE
    assert error.retry_after_seconds == 60


def test_request_ids_longer_than_qbo_allows_are_shortened_deterministically() -> None:
    short = "inv-0b6e3f6c-6f3e-4c07-9a4d-3a8d3b1f5f10"
    assert qbo_request_id(short) == short
    long_id = "send-0b6e3f6c-6f3e-4c07-9a4d-3a8d3b1f5f10-20260301T120000"
    derived = qbo_request_id(long_id)
    assert len(derived) <= 50
    assert derived == qbo_request_id(long_id)
    assert derived != qbo_request_id(long_id + "x")


def test_cloudevents_lower_case_entities_are_read_as_quickbooks_names_them() -> None:
    """§8.2: ``type`` is ``qbo.<entity lower-case>.<verb>.v1``. The notice store, CDC and the
    form data's freshness check use QuickBooks' names (CompanyInfo, not Companyinfo)."""
    events = [
        {
            "specversion": "1.0",
            "id": f"evt-{n}",
            "source": "intuit.x",
            "type": f"qbo.{entity}.{verb}.v1",
            "time": "2026-03-01T10:00:00.123456789Z",
            "intuitentityid": str(n),
            "intuitaccountid": "310687",
        }
        for n, (entity, verb) in enumerate(
            [
                ("companyinfo", "updated"),
                ("companycurrency", "created"),
                ("taxagency", "created"),
                ("preferences", "updated"),
                ("invoice", "voided"),
                ("employee", "created"),
            ]
        )
    ]
    notices = notices_from_payload(events)
    assert [(n.entity, n.operation) for n in notices] == [
        ("CompanyInfo", "Update"),
        ("CompanyCurrency", "Create"),
        ("TaxAgency", "Create"),
        ("Preferences", "Update"),
        ("Invoice", "Void"),
        ("Employee", "Create"),  # none of ours: nothing reads it
    ]
