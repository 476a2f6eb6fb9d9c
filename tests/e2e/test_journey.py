"""The whole journey through a real gRPC server, the real adapters, both emulators and Postgres."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import grpc
import pytest
from google.protobuf import field_mask_pb2

from dealbooks.v1 import (
    connection_service_pb2,
    connection_service_pb2_grpc,
    customer_pb2,
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
    settings_pb2,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from entrypoints.emulated import DEMO_COMPANY, INTL_REALM, US_REALM, Emulators
from entrypoints.service import Service
from entrypoints.settings import AppSettings, PipedriveSettings, QuickBooksSettings
from tests.e2e.conftest import OPERATOR, bearer
from tests.e2e.polling import eventually

pytestmark = pytest.mark.e2e
DEAL = f"companies/{DEMO_COMPANY}/deals/3"
MD = bearer(OPERATOR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def world(
    app_settings: AppSettings, pg_engine: object
) -> AsyncIterator[tuple[Service, Emulators]]:
    http_port = free_port()
    public_url = f"http://127.0.0.1:{http_port}"
    emulators = Emulators(public_url=public_url)
    await emulators.start()
    settings = replace(
        app_settings,
        public_url=public_url,
        quickbooks=QuickBooksSettings(base_url=emulators.quickbooks_url),
        pipedrive=PipedriveSettings(oauth_url=emulators.pipedrive_url),
    )
    service = Service(settings, grpc_port=0, http_port=http_port)
    await service.start()
    try:
        assert service.container is not None
        await emulators.connect(service.container.gateways.token_store())
        yield service, emulators
    finally:
        await service.stop()
        await emulators.stop()


async def qbo_invoice(
    emulators: Emulators, quickbooks_id: str, realm: str = US_REALM
) -> dict[str, object]:
    state = await emulators.admin("quickbooks", "GET", f"companies/{realm}/invoices")
    for invoice in state["invoices"]:
        if invoice["Id"] == quickbooks_id:
            return dict(invoice)
    deleted = {d["Id"] for d in state["deleted"]}
    return {"deleted": quickbooks_id in deleted}


async def options_of(
    settings: settings_service_pb2_grpc.SettingsServiceStub,
) -> settings_service_pb2.ListInvoiceOptionsResponse:
    return await settings.ListInvoiceOptions(
        settings_service_pb2.ListInvoiceOptionsRequest(parent=f"companies/{DEMO_COMPANY}"),
        metadata=MD,
    )


async def draft_of(
    invoices: invoice_service_pb2_grpc.InvoiceServiceStub, deal: str = DEAL
) -> invoice_service_pb2.InvoiceDraft:
    reply = await invoices.PrepareInvoice(
        invoice_service_pb2.PrepareInvoiceRequest(parent=deal), metadata=MD
    )
    return reply.draft


async def create_invoice(
    invoices: invoice_service_pb2_grpc.InvoiceServiceStub,
    deal: str,
    invoice: invoice_pb2.Invoice,
    request_id: str,
    exchange_rate: str = "",
) -> invoice_pb2.Invoice:
    """CreateInvoice for ``invoice`` as given."""
    reply = await invoices.CreateInvoice(
        invoice_service_pb2.CreateInvoiceRequest(
            parent=deal, invoice=invoice, request_id=request_id, exchange_rate=exchange_rate
        ),
        metadata=MD,
    )
    return reply.invoice


async def create_from(
    invoices: invoice_service_pb2_grpc.InvoiceServiceStub,
    draft: invoice_service_pb2.InvoiceDraft,
    request_id: str,
    customer: customer_pb2.Customer,
    **changes: str,
) -> invoice_pb2.Invoice:
    """CreateInvoice with the draft as the form sends it, for ``customer``, with ``changes``."""
    invoice = invoice_pb2.Invoice()
    invoice.CopyFrom(draft.invoice)
    invoice.customer.CopyFrom(customer)
    for key, value in changes.items():
        setattr(invoice, key, value)
    return await create_invoice(invoices, DEAL, invoice, request_id)


async def test_settings_prepare_create_pay_send_void_delete_overdue(
    world: tuple[Service, Emulators],
) -> None:
    service, emulators = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)

        # Both connections show, with the QuickBooks company and token health.
        connections = connection_service_pb2_grpc.ConnectionServiceStub(channel)
        connection = (
            await connections.GetConnection(
                connection_service_pb2.GetConnectionRequest(
                    name=f"companies/{DEMO_COMPANY}/connection"
                ),
                metadata=MD,
            )
        ).connection
        assert connection.quickbooks.state == connection_service_pb2.CONNECTION_STATE_CONNECTED
        assert connection.quickbooks.external_id == US_REALM
        assert connection.quickbooks.HasField("refresh_token_expire_time")
        assert connection.pipedrive.state == connection_service_pb2.CONNECTION_STATE_CONNECTED

        # Settings: due 7 days after issue; unmatched products go to QuickBooks item 1.
        await settings.UpdateSettings(
            settings_service_pb2.UpdateSettingsRequest(
                settings=settings_pb2.Settings(
                    name=f"companies/{DEMO_COMPANY}/settings", default_item="1"
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["default_item"]),
            ),
            metadata=MD,
        )

        # Prepare: the draft comes from the Pipedrive deal through the real adapter.
        draft = await draft_of(invoices, DEAL)
        assert draft.invoice.customer.display_name == "Initech Inc."
        assert draft.invoice.currency_code == "USD"
        assert len(draft.invoice.lines) >= 2

        async def create(request_id: str, **changes: str) -> invoice_pb2.Invoice:
            customer = customer_pb2.Customer(
                display_name=f"Initech Inc. {request_id}", email="peter@initech.test"
            )
            return await create_from(invoices, draft, request_id, customer, **changes)

        # Create with a new QuickBooks customer.
        first = await create("journey-1")
        assert first.state == invoice_pb2.INVOICE_STATE_OPEN, first.failure_reason
        assert first.quickbooks_invoice_id
        assert first.doc_number
        in_qbo = await qbo_invoice(emulators, first.quickbooks_invoice_id)
        assert in_qbo["CustomerRef"]["name"].startswith("Initech Inc.")  # type: ignore[index]

        listed = await invoices.ListInvoices(
            invoice_service_pb2.ListInvoicesRequest(parent=DEAL), metadata=MD
        )
        assert [i.state for i in listed.invoices] == [invoice_pb2.INVOICE_STATE_OPEN]

        # A payment recorded in QuickBooks, then Refresh: partially paid, then paid.
        await emulators.admin(
            "quickbooks",
            "POST",
            f"companies/{US_REALM}/payments",
            invoice_id=first.quickbooks_invoice_id,
            amount="100.00",
        )
        refreshed = await invoices.RefreshInvoices(
            invoice_service_pb2.RefreshInvoicesRequest(parent=DEAL), metadata=MD
        )
        assert refreshed.invoices[0].state == invoice_pb2.INVOICE_STATE_PARTIALLY_PAID
        assert refreshed.invoices[0].totals.amount_paid.amount == "100.00"
        await emulators.admin(
            "quickbooks",
            "POST",
            f"companies/{US_REALM}/payments",
            invoice_id=first.quickbooks_invoice_id,
        )
        refreshed = await invoices.RefreshInvoices(
            invoice_service_pb2.RefreshInvoicesRequest(parent=DEAL), metadata=MD
        )
        assert refreshed.invoices[0].state == invoice_pb2.INVOICE_STATE_PAID

        # Another invoice: send, PDF, void.
        second = await create("journey-2")
        sent = await invoices.SendInvoice(
            invoice_service_pb2.SendInvoiceRequest(name=second.name), metadata=MD
        )
        assert sent.invoice.HasField("last_send_time")
        pdf = await invoices.GetInvoicePdf(
            invoice_service_pb2.GetInvoicePdfRequest(name=second.name), metadata=MD
        )
        assert pdf.content.startswith(b"%PDF-")
        assert second.doc_number.encode() in pdf.content
        voided = await invoices.VoidInvoice(
            invoice_service_pb2.VoidInvoiceRequest(name=second.name), metadata=MD
        )
        assert voided.invoice.state == invoice_pb2.INVOICE_STATE_VOIDED
        in_qbo = await qbo_invoice(emulators, second.quickbooks_invoice_id)
        assert in_qbo["TotalAmt"] == 0

        # Another: delete.
        third = await create("journey-3")
        deleted = await invoices.DeleteInvoice(
            invoice_service_pb2.DeleteInvoiceRequest(name=third.name), metadata=MD
        )
        assert deleted.invoice.state == invoice_pb2.INVOICE_STATE_DELETED
        assert (await qbo_invoice(emulators, third.quickbooks_invoice_id)) == {"deleted": True}

        # The reference's example: due-date rule "7 days", issued 13 March -> due 20 March on
        # the QuickBooks invoice; unpaid and past due, so OVERDUE.
        march = await create("journey-4", issue_date="2026-03-13", due_date="")
        assert march.due_date == "2026-03-20"
        in_qbo = await qbo_invoice(emulators, march.quickbooks_invoice_id)
        assert in_qbo["DueDate"] == "2026-03-20"
        assert date.today() > date(2026, 3, 20)
        assert march.state == invoice_pb2.INVOICE_STATE_OVERDUE

        # The deal's history and its Pipedrive notes.
        history = await invoices.ListInvoiceEvents(
            invoice_service_pb2.ListInvoiceEventsRequest(parent=DEAL, page_size=100), metadata=MD
        )
        kinds = {e.type for e in history.events}
        assert {"created", "payment_received", "sent", "voided", "deleted"} <= kinds
        # One note per created invoice, added by the deal follow-up job after CreateInvoice
        # answered; each names its own invoice's QuickBooks link, once.
        created = [first, second, third, march]

        # Only the "created" entries: the deal timeline also notes payments and voids.
        def created_notes(body: dict[str, list[dict[str, object]]]) -> list[str]:
            texts = [str(r["body"]) for r in body["requests"]]
            return [t for t in texts if " created in QuickBooks" in t]

        notes = await eventually(
            lambda: emulators.admin("pipedrive", "GET", "requests?path=/notes&method=POST"),
            lambda body: len(created_notes(body)) >= len(created),
        )
        bodies = created_notes(notes)
        assert len(bodies) == len(created)
        for invoice in created:
            link = f"txnId={invoice.quickbooks_invoice_id}"
            assert sum(link in body for body in bodies) == 1, (link, bodies)


async def test_the_chosen_term_and_its_due_date_are_what_quickbooks_records(
    world: tuple[Service, Emulators],
) -> None:
    service, emulators = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        await settings.UpdateSettings(
            settings_service_pb2.UpdateSettingsRequest(
                settings=settings_pb2.Settings(
                    name=f"companies/{DEMO_COMPANY}/settings", default_item="1", default_terms="3"
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["default_item", "default_terms"]),
            ),
            metadata=MD,
        )
        options = await options_of(settings)
        assert {"2", "3"} <= {term.id for term in options.terms}

        # The draft offers the company's default term, with each term's date beside the rule's.
        draft = await draft_of(invoices, DEAL)
        issued = date.fromisoformat(draft.invoice.issue_date)
        assert draft.invoice.terms_id == "3"
        assert draft.rule_due_date == draft.invoice.due_date == str(issued + timedelta(days=7))
        assert draft.terms_due_dates["2"] == str(issued + timedelta(days=15))
        assert draft.terms_due_dates["3"] == str(issued + timedelta(days=30))

        async def create(request_id: str, **changes: str) -> invoice_pb2.Invoice:
            customer = customer_pb2.Customer(display_name=f"Terms Co {request_id}")
            return await create_from(invoices, draft, request_id, customer, **changes)

        # As the form sends it: Net 15 and the date it gives.
        chosen = await create("terms-1", terms_id="2", due_date=draft.terms_due_dates["2"])
        assert chosen.state == invoice_pb2.INVOICE_STATE_OPEN, chosen.failure_reason
        assert (chosen.terms_id, chosen.terms_name) == ("2", "Net 15")
        in_qbo = await qbo_invoice(emulators, chosen.quickbooks_invoice_id)
        assert in_qbo["SalesTermRef"] == {"value": "2", "name": "Net 15"}
        assert in_qbo["DueDate"] == chosen.due_date == str(issued + timedelta(days=15))

        # Through the API with no due date: the company's rule dates it, the term is sent.
        dated = await create("terms-2", terms_id="2", due_date="")
        in_qbo = await qbo_invoice(emulators, dated.quickbooks_invoice_id)
        assert in_qbo["SalesTermRef"] == {"value": "2", "name": "Net 15"}
        assert in_qbo["DueDate"] == dated.due_date == str(issued + timedelta(days=7))
        got = await invoices.GetInvoice(
            invoice_service_pb2.GetInvoiceRequest(name=dated.name), metadata=MD
        )
        assert got.invoice.terms_name == "Net 15"

        # A term QuickBooks does not have is the caller's mistake, said before QuickBooks.
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await create("terms-3", terms_id="999")
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "999" in (refused.value.details() or "")


async def test_terms_class_and_location_changed_in_quickbooks_show_on_the_invoice(
    world: tuple[Service, Emulators],
) -> None:
    """Someone edits the invoice in QuickBooks: its webhook brings the new term, due date,
    class and location to the invoice without anyone refreshing it."""
    service, emulators = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        draft = await draft_of(invoices, DEAL)
        issued = date.fromisoformat(draft.invoice.issue_date)
        customer = customer_pb2.Customer(display_name="Edited Later Co")
        created = await create_from(
            invoices, draft, "edited-1", customer, terms_id="2", due_date=""
        )
        assert created.state == invoice_pb2.INVOICE_STATE_OPEN, created.failure_reason
        assert (created.terms_name, created.class_name, created.location_name) == (
            "Net 15",
            "",
            "",
        )

        net_30 = str(issued + timedelta(days=30))
        await emulators.admin(
            "quickbooks",
            "POST",
            f"companies/{US_REALM}/invoices/{created.quickbooks_invoice_id}/update",
            SalesTermRef={"value": "3"},
            DueDate=net_30,
            ClassRef={"value": "2"},
            DepartmentRef={"value": "1"},
        )

        async def shown() -> invoice_pb2.Invoice:
            reply = await invoices.GetInvoice(
                invoice_service_pb2.GetInvoiceRequest(name=created.name), metadata=MD
            )
            return reply.invoice

        edited = await eventually(shown, lambda invoice: invoice.terms_id == "3")
        assert (edited.terms_id, edited.terms_name, edited.due_date) == ("3", "Net 30", net_30)
        assert (edited.class_name, edited.location_name) == ("Landscaping:Design", "San Pablo")


async def test_with_automated_sales_tax_quickbooks_tax_is_the_invoices_tax(
    world: tuple[Service, Emulators],
) -> None:
    """The US company uses automated sales tax: the draft carries no tax rate of ours and says
    QuickBooks computes it; the created invoice's tax and total are QuickBooks', to the cent."""
    service, emulators = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        options = await options_of(settings)
        assert options.automated_sales_tax
        assert options.us_company
        draft = await draft_of(invoices, DEAL)
        assert draft.invoice.tax_calculated_by_quickbooks
        assert {line.tax_rate for line in draft.invoice.lines} <= {"", "0"}

        # Taxable lines, a customer in California (8.25 % there).
        invoice = invoice_pb2.Invoice()
        invoice.CopyFrom(draft.invoice)
        for line in invoice.lines:
            line.tax_code_id, line.item_id = "TAX", "1"
        invoice.customer.CopyFrom(
            customer_pb2.Customer(
                display_name="Sales Tax Co",
                billing_address=customer_pb2.PostalAddress(
                    line1="1 Market St", city="San Francisco", region="CA", postal_code="94105"
                ),
            )
        )
        created = await create_invoice(invoices, DEAL, invoice, "ast-1")
        assert created.state == invoice_pb2.INVOICE_STATE_OPEN, created.failure_reason
        in_qbo = await qbo_invoice(emulators, created.quickbooks_invoice_id)
        tax = in_qbo["TxnTaxDetail"]["TotalTax"]  # type: ignore[index]
        assert float(tax) > 0
        got = (
            await invoices.GetInvoice(
                invoice_service_pb2.GetInvoiceRequest(name=created.name), metadata=MD
            )
        ).invoice
        assert got.tax_calculated_by_quickbooks
        assert Decimal(got.totals.tax.amount) == Decimal(str(tax))
        total = Decimal(str(in_qbo["TotalAmt"]))
        assert Decimal(got.totals.total.amount) == Decimal(got.quickbooks_total.amount) == total
        assert not got.totals_mismatch


async def test_with_automated_sales_tax_the_invoice_is_taxed_where_the_customer_ships(
    world: tuple[Service, Emulators],
) -> None:
    """Billed in California, shipped to Texas: QuickBooks taxes for Texas. The customer is made
    with that ship-to and linked, so the next draft for the deal brings it in again."""
    service, emulators = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        draft = await draft_of(invoices, DEAL)
        invoice = invoice_pb2.Invoice()
        invoice.CopyFrom(draft.invoice)
        for line in invoice.lines:
            line.tax_code_id, line.item_id = "TAX", "1"
        texas = customer_pb2.PostalAddress(
            line1="500 Congress Ave", city="Austin", region="TX", postal_code="78701"
        )
        invoice.customer.CopyFrom(
            customer_pb2.Customer(
                display_name="Ship Elsewhere Co",
                billing_address=customer_pb2.PostalAddress(
                    line1="1 Market St", city="San Francisco", region="CA", postal_code="94105"
                ),
                shipping_address=texas,
            )
        )
        created = await create_invoice(invoices, DEAL, invoice, "ast-ship-1")
        assert created.state == invoice_pb2.INVOICE_STATE_OPEN, created.failure_reason

        in_qbo = await qbo_invoice(emulators, created.quickbooks_invoice_id)
        assert in_qbo["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "4"  # type: ignore[index]
        assert in_qbo["ShipAddr"]["City"] == "Austin"  # type: ignore[index]
        assert in_qbo["BillAddr"]["City"] == "San Francisco"  # type: ignore[index]
        got = (
            await invoices.GetInvoice(
                invoice_service_pb2.GetInvoiceRequest(name=created.name), metadata=MD
            )
        ).invoice
        assert got.customer.shipping_address == texas
        again = await draft_of(invoices, DEAL)
        assert again.linked_customer.display_name == "Ship Elsewhere Co"
        assert again.invoice.customer.shipping_address == texas


async def test_without_automated_sales_tax_the_chosen_rate_is_what_quickbooks_charges(
    world: tuple[Service, Emulators],
) -> None:
    """A US company on the older sales tax: one sales tax code (California, 7.25 % + 1 %)
    applies to the taxable lines; the preview's tax and total are QuickBooks', to the cent."""
    service, emulators = world
    assert service.grpc is not None
    await emulators.admin(
        "quickbooks", "POST", f"companies/{US_REALM}/preferences", automated_sales_tax=False
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        await settings.UpdateSettings(
            settings_service_pb2.UpdateSettingsRequest(
                settings=settings_pb2.Settings(
                    name=f"companies/{DEMO_COMPANY}/settings",
                    default_item="1",
                    default_tax_code="2",
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["default_item", "default_tax_code"]),
            ),
            metadata=MD,
        )
        options = await options_of(settings)
        assert not options.automated_sales_tax
        assert {(c.id, c.detail) for c in options.sales_tax_codes} >= {("2", "8.25")}
        draft = await draft_of(invoices, DEAL)
        assert draft.invoice.sales_tax_code_id == "2"

        invoice = invoice_pb2.Invoice()
        invoice.CopyFrom(draft.invoice)
        items = [line for line in invoice.lines if line.kind != invoice_pb2.LINE_KIND_DISCOUNT]
        for line, code in zip(items, ["TAX", "NON"], strict=False):
            line.tax_code_id, line.tax_rate = code, ""
        invoice.customer.CopyFrom(customer_pb2.Customer(display_name="Older Sales Tax Co"))
        created = await create_invoice(invoices, DEAL, invoice, "us-sales-tax-1")
        assert created.state == invoice_pb2.INVOICE_STATE_OPEN, created.failure_reason
        in_qbo = await qbo_invoice(emulators, created.quickbooks_invoice_id)
        detail = in_qbo["TxnTaxDetail"]
        assert detail["TxnTaxCodeRef"]["value"] == "2"  # type: ignore[index]
        assert created.sales_tax_code_id == "2"
        assert Decimal(created.totals.tax.amount) == Decimal(str(detail["TotalTax"]))  # type: ignore[index]
        assert float(created.totals.tax.amount) > 0
        assert Decimal(created.totals.total.amount) == Decimal(str(in_qbo["TotalAmt"]))
        assert not created.totals_mismatch


async def test_a_uk_vat_company_invoices_a_euro_deal_as_previewed(
    world: tuple[Service, Emulators],
) -> None:
    """The UK company (VAT codes, GBP, EUR added), through gRPC: a EUR deal for a new customer
    with the details as edited, VAT codes on the lines, a term, the user's exchange rate.
    QuickBooks records the preview's total and tax to the cent, the currency, the term and due
    date chosen, and the customer as edited."""
    service, emulators = world
    assert service.grpc is not None
    assert service.container is not None
    await emulators.connect_quickbooks(service.container.gateways.token_store(), INTL_REALM)
    deal = f"companies/{DEMO_COMPANY}/deals/1"  # Globex website relaunch, in EUR
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        draft = await draft_of(invoices, deal)
        assert draft.invoice.currency_code == "EUR"
        assert draft.exchange_rate  # QuickBooks' rate for the issue date, shown

        invoice = invoice_pb2.Invoice()
        invoice.CopyFrom(draft.invoice)
        items = [line for line in invoice.lines if line.kind != invoice_pb2.LINE_KIND_DISCOUNT]
        for line, code in zip(items, ["2", "3"], strict=False):  # 20.0% S, 5.0% R
            line.tax_code_id, line.tax_rate, line.item_id = code, "", "2"
        invoice.customer.CopyFrom(
            customer_pb2.Customer(
                display_name="Globex Journey GmbH",
                email="rechnung@globex.example",
                billing_address=customer_pb2.PostalAddress(
                    line1="Friedrichstr. 10", city="Berlin", postal_code="10117", country="DE"
                ),
            )
        )
        issued = date.fromisoformat(draft.invoice.issue_date)
        invoice.terms_id, invoice.due_date = "3", str(issued + timedelta(days=30))  # Net 30
        created = await create_invoice(invoices, deal, invoice, "uk-journey-1", "0.86")
        assert created.state == invoice_pb2.INVOICE_STATE_OPEN, created.failure_reason

    in_qbo = await qbo_invoice(emulators, created.quickbooks_invoice_id, INTL_REALM)
    assert in_qbo["CurrencyRef"]["value"] == "EUR"  # type: ignore[index]
    assert Decimal(str(in_qbo["ExchangeRate"])) == Decimal("0.86")
    # The preview, to the cent.
    assert Decimal(str(in_qbo["TotalAmt"])) == Decimal(created.totals.total.amount)
    tax = in_qbo["TxnTaxDetail"]["TotalTax"]  # type: ignore[index]
    assert Decimal(str(tax)) == Decimal(created.totals.tax.amount)
    assert float(created.totals.tax.amount) > 0
    assert (in_qbo["SalesTermRef"]["value"], in_qbo["DueDate"]) == ("3", created.due_date)  # type: ignore[index]
    accounting = service.container.gateways.accounting()
    found = await accounting.get_customer(DEMO_COMPANY, str(in_qbo["CustomerRef"]["value"]))  # type: ignore[index]
    assert found.currency == "EUR"
    assert (found.customer.display_name, found.customer.email) == (
        "Globex Journey GmbH",
        "rechnung@globex.example",
    )
    assert found.customer.billing_address is not None
    assert (found.customer.billing_address.line1, found.customer.billing_address.city) == (
        "Friedrichstr. 10",
        "Berlin",
    )


async def test_a_backdated_uk_invoice_pays_the_vat_rate_of_its_date(
    world: tuple[Service, Emulators],
) -> None:
    """The UK standard rate (code 20.0% S) was 15 % in 2009 (TaxRate.EffectiveTaxRate): the
    options say so, and an invoice dated then is taxed at 15 %, as QuickBooks charges it."""
    service, emulators = world
    assert service.grpc is not None
    assert service.container is not None
    await emulators.connect_quickbooks(service.container.gateways.token_store(), INTL_REALM)
    deal = f"companies/{DEMO_COMPANY}/deals/1"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        options = await options_of(settings)
        periods = options.tax_rate_history["2"].periods
        assert [(p.start_date, p.end_date, p.rate) for p in periods][1] == (
            "2008-12-01",
            "2009-12-31",
            "15",
        )
        draft = await draft_of(invoices, deal)
        invoice = invoice_pb2.Invoice()
        invoice.CopyFrom(draft.invoice)
        for line in invoice.lines:
            if line.kind != invoice_pb2.LINE_KIND_DISCOUNT:
                line.tax_code_id, line.tax_rate, line.item_id = "2", "", "2"
        invoice.customer.CopyFrom(
            customer_pb2.Customer(display_name="Müller GmbH", quickbooks_customer_id="3")  # EUR
        )
        invoice.issue_date, invoice.due_date, invoice.terms_id = "2009-06-01", "2009-07-01", ""
        created = await create_invoice(invoices, deal, invoice, "uk-2009-1")
        assert created.state == invoice_pb2.INVOICE_STATE_OVERDUE, created.failure_reason

    assert {Decimal(line.tax_rate) for line in created.lines if line.tax_code_id == "2"} == {
        Decimal(15)
    }
    in_qbo = await qbo_invoice(emulators, created.quickbooks_invoice_id, INTL_REALM)
    detail = in_qbo["TxnTaxDetail"]
    assert Decimal(str(detail["TotalTax"])) == Decimal(created.totals.tax.amount)  # type: ignore[index]
    assert {Decimal(str(t["TaxLineDetail"]["TaxPercent"])) for t in detail["TaxLine"]} == {  # type: ignore[index]
        Decimal(15)
    }


async def test_one_request_id_on_two_sends_sends_each_invoice(
    world: tuple[Service, Emulators],
) -> None:
    """QuickBooks replays a request id's first answer across the whole QuickBooks company: the
    caller's id reused on another invoice (or another address) must still send that one."""
    service, emulators = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        draft = await draft_of(invoices)
        customer = customer_pb2.Customer(display_name="Initech Inc.", email="peter@initech.test")
        first = await create_from(invoices, draft, "send-a", customer)
        second = await create_from(invoices, draft, "send-b", customer)

        async def send(invoice: invoice_pb2.Invoice, to: str = "") -> None:
            await invoices.SendInvoice(
                invoice_service_pb2.SendInvoiceRequest(
                    name=invoice.name, request_id="send-1", to=to
                ),
                metadata=MD,
            )

        await send(first)
        await send(second)
        await send(second, to="billing@initech.test")
        await send(second, to="billing@initech.test")  # a retry: sent once
        for invoice in (first, second):
            in_qbo = await qbo_invoice(emulators, invoice.quickbooks_invoice_id)
            assert in_qbo["EmailStatus"] == "EmailSent", invoice.name
        outbox = await emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/emails")
        assert sorted((e["invoice_id"], e["to"]) for e in outbox["emails"]) == sorted(
            [
                (first.quickbooks_invoice_id, "peter@initech.test"),
                (second.quickbooks_invoice_id, "peter@initech.test"),
                (second.quickbooks_invoice_id, "billing@initech.test"),
            ]
        )
