"""InvoiceService and CustomerService through a real gRPC server and Postgres (vendor fakes)."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import grpc
import pytest
from google.rpc import error_details_pb2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.accounting import InMemoryAccountingGateway
from adapters.quickbooks.faults import QuickBooksFault, QuickBooksRejectedError
from application.errors import UpstreamRejectedError
from application.ports.accounting import ClassTracking, NamedRef
from application.reasons import MetadataKey, Reason
from dealbooks.v1 import (
    connection_service_pb2,
    connection_service_pb2_grpc,
    customer_pb2,
    customer_service_pb2,
    customer_service_pb2_grpc,
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from domain.errors import DomainReason
from domain.messages import MessageCode
from domain.money import Money
from entrypoints.service import Service
from tests.contract.test_connections import connection
from tests.e2e.conftest import TOKEN_A, TOKEN_B, bearer
from tests.e2e.test_settings_api import error_of, violations

pytestmark = pytest.mark.e2e
DEAL = "companies/1001/deals/42"


# A rejection as adapters.quickbooks raises it: its own error, with its five metadata keys
# (nothing renames them on the way out any more).
AS_THE_QUICKBOOKS_ADAPTER_SENDS_IT = QuickBooksFault(
    code="6000",
    message="A business validation error has occurred",
    detail="Email Address is invalid",
    element="BillEmail",
)


def invoices(channel: grpc.aio.Channel) -> invoice_service_pb2_grpc.InvoiceServiceStub:
    return invoice_service_pb2_grpc.InvoiceServiceStub(channel)


def an_invoice(**changes: object) -> invoice_pb2.Invoice:
    invoice = invoice_pb2.Invoice(
        customer=customer_pb2.Customer(display_name="Acme Corp", email="ana@acme.test"),
        lines=[
            invoice_pb2.LineItem(
                name="Services", quantity="5", unit_price="22", discount="0.2", item_id="1"
            )
        ],
        currency_code="USD",
    )
    for key, value in changes.items():
        if key == "lines":
            del invoice.lines[:]
            invoice.lines.extend(value)  # type: ignore[arg-type]
        else:
            setattr(invoice, key, value)
    return invoice


async def create(channel: grpc.aio.Channel, request_id: str = "r-1") -> invoice_pb2.Invoice:
    reply = await invoices(channel).CreateInvoice(
        invoice_service_pb2.CreateInvoiceRequest(
            parent=DEAL, invoice=an_invoice(), request_id=request_id
        ),
        metadata=bearer(TOKEN_A),
    )
    return reply.invoice


async def test_prepare_returns_the_draft_with_totals_and_warnings(
    channel: grpc.aio.Channel,
) -> None:
    reply = await invoices(channel).PrepareInvoice(
        invoice_service_pb2.PrepareInvoiceRequest(parent=DEAL), metadata=bearer(TOKEN_A)
    )
    draft = reply.draft
    assert draft.invoice.customer.display_name == "Acme Corp"
    assert draft.invoice.lines[0].amount.amount == "109.78"
    # No sales tax set up in this US company: the deal's 10 % on "Design" is not charged.
    assert draft.invoice.totals.total == invoice_pb2.Money(currency_code="USD", amount="2059.78")
    assert [w.code for w in draft.warnings] == [
        MessageCode.NO_MATCHING_ITEM,
        MessageCode.NO_SALES_TAX_IN_QUICKBOOKS,
    ]
    assert dict(draft.warnings[0].params) == {"name": "Design"}
    assert draft.warnings[0].message.startswith("No QuickBooks item is named 'Design'")


async def test_create_get_list_and_history(channel: grpc.aio.Channel) -> None:
    created = await create(channel)
    assert created.state == invoice_pb2.INVOICE_STATE_OPEN
    assert created.totals.total.amount == "109.78"
    assert created.name.startswith(f"{DEAL}/invoices/")

    got = await invoices(channel).GetInvoice(
        invoice_service_pb2.GetInvoiceRequest(name=created.name), metadata=bearer(TOKEN_A)
    )
    listed = await invoices(channel).ListInvoices(
        invoice_service_pb2.ListInvoicesRequest(parent=DEAL), metadata=bearer(TOKEN_A)
    )
    history = await invoices(channel).ListInvoiceEvents(
        invoice_service_pb2.ListInvoiceEventsRequest(parent=DEAL), metadata=bearer(TOKEN_A)
    )

    assert got.invoice.name == created.name
    assert [i.name for i in listed.invoices] == [created.name]
    assert [e.type for e in history.events] == ["created", "creation_requested"]
    assert history.events[0].description.startswith("Invoice ")


async def test_the_history_of_one_invoice_pages_with_its_filter(channel: grpc.aio.Channel) -> None:
    first, second = await create(channel, "r-1"), await create(channel, "r-2")
    stub, md = invoices(channel), bearer(TOKEN_A)

    async def history(**fields: object) -> invoice_service_pb2.ListInvoiceEventsResponse:
        request = invoice_service_pb2.ListInvoiceEventsRequest(parent=DEAL, **fields)
        return await stub.ListInvoiceEvents(request, metadata=md)

    everything = await history()
    mine = await history(filter=f'invoice = "{first.name}"', page_size=1)
    rest = await history(
        filter=f'invoice="{first.name}"', page_size=1, page_token=mine.next_page_token
    )

    assert [e.invoice for e in everything.events] == [second.name] * 2 + [first.name] * 2
    assert [(e.invoice, e.type) for e in [*mine.events, *rest.events]] == [
        (first.name, "created"),
        (first.name, "creation_requested"),
    ]
    assert rest.next_page_token == ""
    # A token of one listing does not continue another.
    code, _info, details = await error_of(history(page_size=1, page_token=mine.next_page_token))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in violations(details)
    other_deal = first.name.replace("/deals/42/", "/deals/43/")
    for bad, reason in (
        ("state = OPEN", MessageCode.FILTER_UNSUPPORTED),
        (f'invoice = "{other_deal}"', MessageCode.FILTER_OTHER_DEAL),
        ('invoice = "not a name"', MessageCode.NOT_A_NAME),
    ):
        code, _info, details = await error_of(history(filter=bad))
        assert code is grpc.StatusCode.INVALID_ARGUMENT, bad
        bad_request = error_details_pb2.BadRequest()
        next(d for d in details if d.Is(bad_request.DESCRIPTOR)).Unpack(bad_request)
        assert [(v.field, v.reason) for v in bad_request.field_violations] == [("filter", reason)]


async def test_the_same_request_id_never_makes_a_second_invoice(
    channel: grpc.aio.Channel, fakes: dict[str, object]
) -> None:
    first = await create(channel, "same")
    second = await create(channel, "same")

    assert first.name == second.name
    accounting = fakes["accounting"]
    assert isinstance(accounting, InMemoryAccountingGateway)
    assert len(accounting.invoices) == 1


async def test_a_reused_request_id_with_another_payload_is_invalid(
    channel: grpc.aio.Channel,
) -> None:
    await create(channel, "same")
    code, info, _ = await error_of(
        invoices(channel).CreateInvoice(
            invoice_service_pb2.CreateInvoiceRequest(
                parent=DEAL, invoice=an_invoice(memo="other"), request_id="same"
            ),
            metadata=bearer(TOKEN_A),
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert info.reason == Reason.REQUEST_ID_REUSED


async def test_void_send_pdf_delete_and_the_state_errors(
    channel: grpc.aio.Channel, fakes: dict[str, object]
) -> None:
    created = await create(channel)
    stub = invoices(channel)
    md = bearer(TOKEN_A)

    sent = await stub.SendInvoice(
        invoice_service_pb2.SendInvoiceRequest(name=created.name), metadata=md
    )
    pdf = await stub.GetInvoicePdf(
        invoice_service_pb2.GetInvoicePdfRequest(name=created.name), metadata=md
    )
    voided = await stub.VoidInvoice(
        invoice_service_pb2.VoidInvoiceRequest(name=created.name), metadata=md
    )
    code, info, details = await error_of(
        stub.SendInvoice(invoice_service_pb2.SendInvoiceRequest(name=created.name), metadata=md)
    )
    deleted = await stub.DeleteInvoice(
        invoice_service_pb2.DeleteInvoiceRequest(name=created.name), metadata=md
    )

    assert sent.invoice.HasField("last_send_time")
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.content_type == "application/pdf"
    assert voided.invoice.state == invoice_pb2.INVOICE_STATE_VOIDED
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert info.reason == DomainReason.INVALID_STATE_TRANSITION
    assert info.metadata[MetadataKey.STATE] == "VOIDED"
    assert any(d.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR) for d in details)
    assert deleted.invoice.state == invoice_pb2.INVOICE_STATE_DELETED


async def test_each_write_answers_the_invoice_as_get_invoice_then_reads_it(
    channel: grpc.aio.Channel,
) -> None:
    """Writes answer from the invoice they just stored, not by reading it back: each answer
    must be field for field what the read side then holds."""
    stub = invoices(channel)
    md = bearer(TOKEN_A)
    created = await create(channel)
    name = created.name
    writes = [
        lambda: stub.SendInvoice(invoice_service_pb2.SendInvoiceRequest(name=name), metadata=md),
        lambda: stub.VoidInvoice(invoice_service_pb2.VoidInvoiceRequest(name=name), metadata=md),
        lambda: stub.DeleteInvoice(
            invoice_service_pb2.DeleteInvoiceRequest(name=name), metadata=md
        ),
    ]
    answers = [created]
    reads = [await stub.GetInvoice(invoice_service_pb2.GetInvoiceRequest(name=name), metadata=md)]
    for write in writes:
        answers.append((await write()).invoice)
        reads.append(
            await stub.GetInvoice(invoice_service_pb2.GetInvoiceRequest(name=name), metadata=md)
        )

    assert answers == [read.invoice for read in reads]
    assert [a.state for a in answers] == [
        invoice_pb2.INVOICE_STATE_OPEN,
        invoice_pb2.INVOICE_STATE_OPEN,
        invoice_pb2.INVOICE_STATE_VOIDED,
        invoice_pb2.INVOICE_STATE_DELETED,
    ]


async def test_refresh_shows_a_payment_recorded_in_quickbooks(
    channel: grpc.aio.Channel, fakes: dict[str, object]
) -> None:
    created = await create(channel)
    accounting = fakes["accounting"]
    assert isinstance(accounting, InMemoryAccountingGateway)
    accounting.record_payment(created.quickbooks_invoice_id, Money.of("9.78", "USD"))

    reply = await invoices(channel).RefreshInvoices(
        invoice_service_pb2.RefreshInvoicesRequest(parent=DEAL), metadata=bearer(TOKEN_A)
    )

    assert reply.invoices[0].state == invoice_pb2.INVOICE_STATE_PARTIALLY_PAID
    assert reply.invoices[0].totals.balance.amount == "100.00"
    assert reply.invoices[0].HasField("last_sync_time")


async def test_bad_lines_get_field_violations(channel: grpc.aio.Channel) -> None:
    bad = an_invoice(lines=[invoice_pb2.LineItem(name="x", quantity="-2", unit_price="1e999999")])
    code, _info, details = await error_of(
        invoices(channel).CreateInvoice(
            invoice_service_pb2.CreateInvoiceRequest(parent=DEAL, invoice=bad),
            metadata=bearer(TOKEN_A),
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "invoice.lines[0].quantity" in violations(details)
    bad_request = error_details_pb2.BadRequest()
    next(d for d in details if d.Is(bad_request.DESCRIPTOR)).Unpack(bad_request)
    by_field = {v.field: v for v in bad_request.field_violations}
    quantity = by_field["invoice.lines[0].quantity"]
    assert quantity.reason == MessageCode.MUST_BE_POSITIVE  # the code, for callers to translate
    assert quantity.description == "Must be more than 0."


async def test_a_rejected_send_has_lower_camel_case_metadata(
    channel: grpc.aio.Channel, fakes: dict[str, object]
) -> None:
    created = await create(channel)
    accounting = fakes["accounting"]
    assert isinstance(accounting, InMemoryAccountingGateway)
    accounting.fail_on(
        "send_invoice",
        QuickBooksRejectedError(
            "QuickBooks refused the request: Email Address is invalid",
            AS_THE_QUICKBOOKS_ADAPTER_SENDS_IT,
            "1-tid",
        ),
    )

    code, info, _ = await error_of(
        invoices(channel).SendInvoice(
            invoice_service_pb2.SendInvoiceRequest(name=created.name), metadata=bearer(TOKEN_A)
        )
    )

    assert code is grpc.StatusCode.FAILED_PRECONDITION
    assert info.reason == Reason.QUICKBOOKS_REJECTED
    assert dict(info.metadata) == {
        MetadataKey.VENDOR_CODE: "6000",
        MetadataKey.INTUIT_TID: "1-tid",
        MetadataKey.VENDOR_MESSAGE: "A business validation error has occurred",
        MetadataKey.VENDOR_DETAIL: "Email Address is invalid",
        MetadataKey.ELEMENT: "BillEmail",
    }


async def test_a_rejected_creation_keeps_its_reason_and_metadata_on_the_invoice(
    channel: grpc.aio.Channel, fakes: dict[str, object]
) -> None:
    accounting = fakes["accounting"]
    assert isinstance(accounting, InMemoryAccountingGateway)
    accounting.fail_on(
        "create_invoice",
        UpstreamRejectedError(
            "QuickBooks already has an invoice with this number; choose another number.",
            reason=Reason.QUICKBOOKS_REJECTED,
            metadata={MetadataKey.VENDOR_CODE: "6140", MetadataKey.INTUIT_TID: "1-tid"},
        ),
    )

    created = await create(channel, "rejected")

    assert created.state == invoice_pb2.INVOICE_STATE_CREATE_FAILED
    assert created.failure_code == Reason.QUICKBOOKS_REJECTED
    assert dict(created.failure_params) == {
        MetadataKey.VENDOR_CODE: "6140",
        MetadataKey.INTUIT_TID: "1-tid",
    }
    assert created.failure_reason.startswith("QuickBooks already has an invoice")


async def test_an_unknown_invoice_is_not_found(channel: grpc.aio.Channel) -> None:
    code, info, _ = await error_of(
        invoices(channel).GetInvoice(
            invoice_service_pb2.GetInvoiceRequest(name=f"{DEAL}/invoices/nope"),
            metadata=bearer(TOKEN_A),
        )
    )
    assert code is grpc.StatusCode.NOT_FOUND
    assert info.reason == Reason.INVOICE_NOT_FOUND


async def test_quickbooks_unavailable_leaves_the_invoice_creating(
    channel: grpc.aio.Channel, fakes: dict[str, object]
) -> None:
    accounting = fakes["accounting"]
    assert isinstance(accounting, InMemoryAccountingGateway)
    accounting.unavailable(times=3)  # the options read, the customer write, the view

    created = await create(channel, "outage")

    assert created.state == invoice_pb2.INVOICE_STATE_CREATING
    retried = await create(channel, "outage")
    assert retried.state == invoice_pb2.INVOICE_STATE_OPEN


async def test_customers_search_link_get_unlink(
    channel: grpc.aio.Channel, service: Service
) -> None:
    # The fake QuickBooks answers for 1001; a link is to the QuickBooks company the database
    # says is connected, as in production.
    await service.container.gateways.token_store().save(connection(company="1001"))
    await create(channel)
    stub = customer_service_pb2_grpc.CustomerServiceStub(channel)
    md = bearer(TOKEN_A)

    found = await stub.SearchCustomers(
        customer_service_pb2.SearchCustomersRequest(parent="companies/1001", query="acme"),
        metadata=md,
    )
    link_name = "companies/1001/persons/77/customerLink"
    linked = await stub.LinkCustomer(
        customer_service_pb2.LinkCustomerRequest(
            link=customer_service_pb2.CustomerLink(
                name=link_name, quickbooks_customer_id=found.customers[0].quickbooks_customer_id
            )
        ),
        metadata=md,
    )
    got = await stub.GetCustomerLink(
        customer_service_pb2.GetCustomerLinkRequest(name=link_name), metadata=md
    )
    removed = await stub.UnlinkCustomer(
        customer_service_pb2.UnlinkCustomerRequest(name=link_name), metadata=md
    )
    code, _info, _ = await error_of(
        stub.GetCustomerLink(
            customer_service_pb2.GetCustomerLinkRequest(name=link_name), metadata=md
        )
    )

    assert [c.display_name for c in found.customers] == ["Acme Corp"]
    assert linked.link.display_name == "Acme Corp"
    assert got.link.quickbooks_customer_id == found.customers[0].quickbooks_customer_id
    assert removed.removed
    assert code is grpc.StatusCode.NOT_FOUND


async def test_options_and_fields_for_the_settings_page(channel: grpc.aio.Channel) -> None:
    stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
    options = await stub.ListInvoiceOptions(
        settings_service_pb2.ListInvoiceOptionsRequest(parent="companies/1001"),
        metadata=bearer(TOKEN_A),
    )
    fields = await stub.ListMappableFields(
        settings_service_pb2.ListMappableFieldsRequest(parent="companies/1001"),
        metadata=bearer(TOKEN_A),
    )
    assert options.home_currency_code == "USD"
    assert [i.display_name for i in options.items] == ["Services", "Hours"]
    assert ("organization", "address") in {
        ("organization" if f.entity == 1 else "other", f.field_key) for f in fields.fields
    }


async def test_classes_and_locations_are_offered_and_an_inactive_one_is_a_field_error(
    channel: grpc.aio.Channel, fakes: dict[str, object]
) -> None:
    accounting = fakes["accounting"]
    assert isinstance(accounting, InMemoryAccountingGateway)
    accounting.preferences = dataclasses.replace(
        accounting.preferences, class_tracking=ClassTracking.PER_LINE, location_tracking=True
    )
    accounting.classes = (NamedRef("1", "Landscaping"), NamedRef("9", "Retired", active=False))
    accounting.locations = (NamedRef("4", "Oakland"),)
    stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
    options = await stub.ListInvoiceOptions(
        settings_service_pb2.ListInvoiceOptionsRequest(parent="companies/1001"),
        metadata=bearer(TOKEN_A),
    )
    code, _info, details = await error_of(
        invoices(channel).CreateInvoice(
            invoice_service_pb2.CreateInvoiceRequest(
                parent=DEAL, invoice=an_invoice(class_id="9"), request_id="r-class"
            ),
            metadata=bearer(TOKEN_A),
        )
    )
    created = await invoices(channel).CreateInvoice(
        invoice_service_pb2.CreateInvoiceRequest(
            parent=DEAL, invoice=an_invoice(class_id="1", location_id="4"), request_id="r-ok"
        ),
        metadata=bearer(TOKEN_A),
    )

    assert [(c.id, c.display_name) for c in options.classes] == [("1", "Landscaping")]
    assert [(c.id, c.display_name) for c in options.inactive_classes] == [("9", "Retired")]
    assert options.classes_per_line
    assert [(c.id, c.display_name) for c in options.locations] == [("4", "Oakland")]
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert violations(details) == {
        "invoice.class_id": "'9' is not an active class of this QuickBooks company; choose one "
        "from the list."
    }
    read = await invoices(channel).GetInvoice(
        invoice_service_pb2.GetInvoiceRequest(name=created.invoice.name), metadata=bearer(TOKEN_A)
    )
    sent = accounting.sent_extras[created.invoice.quickbooks_invoice_id]
    assert sent is not None
    assert (sent.class_id, sent.location_id) == ("1", "4")
    # What QuickBooks recorded, by name, on the created invoice and as it is read back.
    for shown in (created.invoice, read.invoice):
        assert (shown.class_name, shown.location_name) == ("Landscaping", "Oakland")


async def test_company_b_can_reach_none_of_company_a_invoices(channel: grpc.aio.Channel) -> None:
    created = await create(channel)
    stub = invoices(channel)
    md = bearer(TOKEN_B)
    calls = [
        stub.PrepareInvoice(invoice_service_pb2.PrepareInvoiceRequest(parent=DEAL), metadata=md),
        stub.CreateInvoice(
            invoice_service_pb2.CreateInvoiceRequest(parent=DEAL, invoice=an_invoice()), metadata=md
        ),
        stub.GetInvoice(invoice_service_pb2.GetInvoiceRequest(name=created.name), metadata=md),
        stub.ListInvoices(invoice_service_pb2.ListInvoicesRequest(parent=DEAL), metadata=md),
        stub.VoidInvoice(invoice_service_pb2.VoidInvoiceRequest(name=created.name), metadata=md),
        stub.DeleteInvoice(
            invoice_service_pb2.DeleteInvoiceRequest(name=created.name), metadata=md
        ),
        stub.SendInvoice(invoice_service_pb2.SendInvoiceRequest(name=created.name), metadata=md),
        stub.GetInvoicePdf(
            invoice_service_pb2.GetInvoicePdfRequest(name=created.name), metadata=md
        ),
        stub.RefreshInvoices(invoice_service_pb2.RefreshInvoicesRequest(parent=DEAL), metadata=md),
        stub.ListInvoiceEvents(
            invoice_service_pb2.ListInvoiceEventsRequest(parent=DEAL), metadata=md
        ),
    ]
    for call in calls:
        code, info, _ = await error_of(call)
        assert code is grpc.StatusCode.PERMISSION_DENIED
        assert info.reason == Reason.NOT_ALLOWED
    got = await stub.GetInvoice(
        invoice_service_pb2.GetInvoiceRequest(name=created.name), metadata=bearer(TOKEN_A)
    )
    assert got.invoice.state == invoice_pb2.INVOICE_STATE_OPEN  # nothing changed


async def test_company_b_can_reach_no_customer_settings_or_connection_of_company_a(
    channel: grpc.aio.Channel,
) -> None:
    customers = customer_service_pb2_grpc.CustomerServiceStub(channel)
    settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
    connections = connection_service_pb2_grpc.ConnectionServiceStub(channel)
    link = "companies/1001/organizations/5/customerLink"
    md = bearer(TOKEN_B)
    calls = [
        customers.SearchCustomers(
            customer_service_pb2.SearchCustomersRequest(parent="companies/1001", query="a"),
            metadata=md,
        ),
        customers.LinkCustomer(
            customer_service_pb2.LinkCustomerRequest(
                link=customer_service_pb2.CustomerLink(name=link, quickbooks_customer_id="1")
            ),
            metadata=md,
        ),
        customers.UnlinkCustomer(
            customer_service_pb2.UnlinkCustomerRequest(name=link), metadata=md
        ),
        customers.GetCustomerLink(
            customer_service_pb2.GetCustomerLinkRequest(name=link), metadata=md
        ),
        settings.ListMappableFields(
            settings_service_pb2.ListMappableFieldsRequest(parent="companies/1001"), metadata=md
        ),
        settings.ListInvoiceOptions(
            settings_service_pb2.ListInvoiceOptionsRequest(parent="companies/1001"), metadata=md
        ),
        connections.GetConnection(
            connection_service_pb2.GetConnectionRequest(name="companies/1001/connection"),
            metadata=md,
        ),
        connections.DisconnectQuickBooks(
            connection_service_pb2.DisconnectQuickBooksRequest(name="companies/1001/connection"),
            metadata=md,
        ),
    ]
    for call in calls:
        code, info, _ = await error_of(call)
        assert code is grpc.StatusCode.PERMISSION_DENIED
        assert info.reason == Reason.NOT_ALLOWED


async def test_a_shutdown_answers_the_creates_it_cuts_short_unavailable_with_their_job_queued(
    service: Service, channel: grpc.aio.Channel, fakes: dict[str, object], pg_engine: AsyncEngine
) -> None:
    accounting = fakes["accounting"]
    assert isinstance(accounting, InMemoryAccountingGateway)
    in_quickbooks = asyncio.Event()

    async def slower_than_the_grace(*args: object, **kwargs: object) -> None:
        in_quickbooks.set()
        await asyncio.Event().wait()

    accounting.create_invoice = slower_than_the_grace  # type: ignore[method-assign,assignment]
    call = asyncio.ensure_future(create(channel, "r-shutdown"))
    await in_quickbooks.wait()
    assert service.grpc is not None
    await service.grpc.stop(0.1)  # the grace runs out while the call waits for QuickBooks

    async with pg_engine.connect() as conn:
        jobs = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE task_name = 'finish_invoice_creation'"
                )
            )
        ).scalar_one()
    assert jobs == 1  # queued before stop() returned, while the job queue was still open
    # Answered, not cut off: UNAVAILABLE is the code a client retries (with the same request id).
    code, info, details = await error_of(call)
    assert code is grpc.StatusCode.UNAVAILABLE
    assert info.reason == Reason.SERVER_SHUTTING_DOWN
    assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in details)


async def test_the_deals_invoicing_sums_its_invoices_against_its_value(
    channel: grpc.aio.Channel,
) -> None:
    await create(channel, "sum-1")
    await create(channel, "sum-2")
    stub = invoices(channel)

    reply = await stub.GetDealInvoicing(
        invoice_service_pb2.GetDealInvoicingRequest(name=f"{DEAL}/invoicing"),
        metadata=bearer(TOKEN_A),
    )

    figures = reply.deal_invoicing
    assert figures.name == f"{DEAL}/invoicing"
    assert figures.currency_code == "USD"
    assert figures.invoiced == invoice_pb2.Money(currency_code="USD", amount="219.56")
    assert figures.paid.amount == "0.00"
    assert figures.balance_due.amount == "219.56"
    assert figures.invoice_count == 2
    value = Decimal(figures.deal_value.amount)
    assert Decimal(figures.remaining.amount) == value - Decimal("219.56")

    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.GetDealInvoicing(
            invoice_service_pb2.GetDealInvoicingRequest(name=DEAL), metadata=bearer(TOKEN_A)
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await stub.GetDealInvoicing(
            invoice_service_pb2.GetDealInvoicingRequest(name=f"{DEAL}/invoicing"),
            metadata=bearer(TOKEN_B),
        )
    assert other.value.code() == grpc.StatusCode.PERMISSION_DENIED
