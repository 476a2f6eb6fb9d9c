"""Classes and locations (QuickBooks' Class and Department): a company that tracks them gets
them in the form's options, and an invoice's class goes where the company assigns classes, on
the invoice or on each line (the discount line too, so that a report by class nets it under the
same class as the sales); its location goes on the invoice. A company that tracks neither pays
no read for them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.quickbooks.mappers import invoice_from_qbo
from application.errors import UpstreamRejectedError
from application.ports.accounting import (
    AccountingInvoice,
    ClassTracking,
    CompanyPreferences,
    InvoiceOptions,
    NamedRef,
)
from domain.invoice_line import InvoiceLine
from domain.invoice_template import InvoiceExtras
from tests.integration.quickbooks.harness import INTL_REALM, US_REALM, Setup, connected, invoice

pytestmark = pytest.mark.integration
US_COMPANY, UK_COMPANY = "3001", "3002"


async def recorded_us(
    setup: Setup, extras: InvoiceExtras
) -> tuple[AccountingInvoice, dict[str, Any]]:
    """A US invoice created with ``extras``: the gateway's answer, and the invoice as the
    emulator recorded it."""
    draft = invoice("1")
    created = await setup.gateway.create_invoice(
        US_COMPANY, draft, request_id=f"inv-{draft.id}", extras=extras
    )
    return created, dict(setup.emulator.invoices(US_REALM)[created.id])


async def test_the_invoices_class_and_location_are_recorded_on_the_invoice() -> None:
    async with connected((US_COMPANY, US_REALM)) as setup:
        options = await setup.gateway.invoice_options(US_COMPANY)
        created, recorded = await recorded_us(setup, InvoiceExtras(class_id="2", location_id="2"))

    assert options.preferences.class_tracking is ClassTracking.PER_INVOICE
    assert options.preferences.location_tracking
    assert options.classes == (
        NamedRef("1", "Landscaping"),
        NamedRef("2", "Landscaping:Design"),
        NamedRef("3", "Maintenance"),
    )
    assert options.locations == (NamedRef("1", "San Pablo"), NamedRef("2", "Oakland"))
    assert recorded["ClassRef"] == {"value": "2", "name": "Landscaping:Design"}
    assert recorded["DepartmentRef"] == {"value": "2", "name": "Oakland"}
    assert (created.class_name, created.location_name) == ("Landscaping:Design", "Oakland")
    assert not any("ClassRef" in line.get("SalesItemLineDetail", {}) for line in recorded["Line"])


async def test_a_company_assigning_classes_per_line_gets_the_class_on_every_line() -> None:
    async with connected((UK_COMPANY, INTL_REALM)) as setup:
        options = await setup.gateway.invoice_options(UK_COMPANY)
        lines = [
            InvoiceLine("Audit", Decimal(1), Decimal(300), name="Services"),
            InvoiceLine("Report", Decimal(2), Decimal(50), name="Services"),
            InvoiceLine.discount_line("Loyalty", Decimal(20)),
        ]
        draft = invoice("1", lines, currency="GBP", company=UK_COMPANY)
        created = await setup.gateway.create_invoice(
            UK_COMPANY, draft, request_id=f"inv-{draft.id}", extras=InvoiceExtras(class_id="2")
        )
        recorded = setup.emulator.invoices(INTL_REALM)[created.id]

    assert options.preferences.class_tracking is ClassTracking.PER_LINE
    assert not options.preferences.location_tracking
    assert options.locations == ()
    details = [
        line[line["DetailType"]]
        for line in recorded["Line"]
        if line["DetailType"] in ("SalesItemLineDetail", "DiscountLineDetail")
    ]
    assert len(details) == 3
    assert [d["ClassRef"] for d in details] == [{"value": "2", "name": "Training"}] * 3
    assert "ClassRef" not in recorded
    assert (created.class_name, created.location_name) == ("Training", None)


async def test_a_class_quickbooks_does_not_have_is_refused_by_quickbooks() -> None:
    async with connected((US_COMPANY, US_REALM)) as setup:
        draft = invoice("1")
        with pytest.raises(UpstreamRejectedError) as refused:
            await setup.gateway.create_invoice(
                US_COMPANY, draft, request_id=f"inv-{draft.id}", extras=InvoiceExtras(class_id="77")
            )

    assert "77" in str(refused.value)


async def test_an_inactive_class_is_read_with_its_name_in_the_same_read() -> None:
    async with connected((US_COMPANY, US_REALM)) as setup:
        company = setup.emulator.emulator.store.company(US_REALM)
        assert company is not None
        company.table("Class")["3"]["Active"] = False  # as the QuickBooks UI does
        company.table("Department")["1"]["Active"] = False
        options = await setup.gateway.invoice_options(US_COMPANY)
        queries = [str(r["body"]) for r in setup.emulator.requests("query")]

    assert NamedRef("3", "Maintenance", active=False) in options.classes
    # Locations are asked for as QuickBooks is sure to answer: the active ones.
    assert options.locations == (NamedRef("2", "Oakland"),)
    assert [q for q in queries if "FROM Class" in q] == [
        "SELECT * FROM Class WHERE Active IN (true, false) STARTPOSITION 1 MAXRESULTS 1000"
    ]
    assert sum("FROM Department" in q for q in queries) == 1


async def test_a_company_that_tracks_neither_reads_neither() -> None:
    async with connected((US_COMPANY, US_REALM)) as setup:
        await setup.emulator.admin(
            "POST",
            f"companies/{US_REALM}/preferences",
            {"class_tracking": "none", "track_locations": False},
        )
        options = await setup.gateway.invoice_options(US_COMPANY)
        # A template's class and location kept from before: not sent.
        created, recorded = await recorded_us(setup, InvoiceExtras(class_id="1", location_id="1"))
        queries = [str(r["body"]) for r in setup.emulator.requests("query")]

    assert (options.classes, options.locations) == ((), ())
    assert options.preferences.class_tracking is ClassTracking.NONE
    assert any("FROM Item" in q for q in queries)  # the options were read ...
    assert not any("Class" in q or "Department" in q for q in queries)  # ... but not these
    assert "ClassRef" not in recorded
    assert "DepartmentRef" not in recorded
    assert (created.class_name, created.location_name) == (None, None)


def test_an_answer_naming_no_class_or_location_is_named_from_the_options_sent() -> None:
    """[U] Whether QuickBooks names a ClassRef or DepartmentRef in its answers (a query answer
    was seen with a SalesTermRef without its name): the create names them from its options."""
    answer: dict[str, Any] = {
        "Id": "130",
        "TotalAmt": 100,
        "Balance": 100,
        "DepartmentRef": {"value": "2"},
        "Line": [
            {"Amount": 60, "DetailType": "SalesItemLineDetail",
             "SalesItemLineDetail": {"ClassRef": {"value": "1"}}},
            {"Amount": 40, "DetailType": "SalesItemLineDetail",
             "SalesItemLineDetail": {"ClassRef": {"value": "3"}}},
            {"Amount": 100, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
        ],
    }  # fmt: skip
    preferences = CompanyPreferences("GBP", False, ("GBP",), False, False, "Demo")
    options = InvoiceOptions(
        preferences,
        (),
        (),
        (),
        classes=(NamedRef("1", "Consulting"), NamedRef("3", "Training")),
        locations=(NamedRef("2", "Leeds"),),
    )

    named = invoice_from_qbo(answer, "GBP", options)
    unnamed = invoice_from_qbo(answer, "GBP")

    assert (named.class_name, named.location_name) == ("Consulting, Training", "Leeds")
    assert named.unnamed == frozenset()
    # Without options the class and location are unknown, not absent: a sync keeps them as
    # they were (and one line named of two would name a part of them).
    assert (unnamed.class_name, unnamed.location_name) == (None, None)
    assert unnamed.unnamed == {"class", "location"}
    answer["Line"][0]["SalesItemLineDetail"]["ClassRef"]["name"] = "Consulting"
    answer["SalesTermRef"] = {"value": "3"}
    partly = invoice_from_qbo(answer, "GBP")
    assert (partly.class_name, partly.terms_id, partly.terms_name) == (None, "3", None)
    assert partly.unnamed == {"terms", "class", "location"}
    answer.pop("DepartmentRef")
    answer["SalesTermRef"]["name"] = "Net 30"
    for line in answer["Line"][:2]:
        line["SalesItemLineDetail"]["ClassRef"]["name"] = "Consulting"
    named_in_answer = invoice_from_qbo(answer, "GBP")
    assert (named_in_answer.class_name, named_in_answer.location_name) == ("Consulting", None)
    assert (named_in_answer.terms_name, named_in_answer.unnamed) == ("Net 30", frozenset())
