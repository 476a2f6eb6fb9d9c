"""Invoice templates through a real gRPC server, the real adapters, both emulators and
Postgres: an admin keeps one, the draft starts from it, and an invoice created with it is what
QuickBooks (the emulator) records: custom field, CC/BCC, memo, private note, terms, payments."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dealbooks.v1 import (
    customer_pb2,
    field_mapping_pb2,
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
    invoice_template_pb2,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from domain.messages import MessageCode
from entrypoints.emulated import DEMO_COMPANY, Emulators
from entrypoints.service import Service
from tests.e2e.test_journey import DEAL, MD, draft_of, qbo_invoice, world  # noqa: F401

pytestmark = pytest.mark.e2e
COMPANY = f"companies/{DEMO_COMPANY}"


def retainer(**changes: object) -> invoice_template_pb2.InvoiceTemplate:
    template = invoice_template_pb2.InvoiceTemplate(
        display_name="Retainer",
        default=True,
        terms_id="2",
        customer_memo="Thank you for your trust.",
        private_note="Monthly retainer",
        custom_fields=[
            invoice_template_pb2.TemplateCustomField(
                definition_id="1",
                source=field_mapping_pb2.FieldSource(
                    entity=field_mapping_pb2.SOURCE_ENTITY_DEAL, field_key="title"
                ),
            ),
            invoice_template_pb2.TemplateCustomField(definition_id="2", value="PO-9981"),
        ],
        bill_email_cc="ops@initech.example, boss@initech.example",
        bill_email_bcc="books@dealbooks.example",
        allow_online_credit_card_payment=True,
        allow_online_ach_payment=False,
    )
    for key, value in changes.items():
        setattr(template, key, value)
    return template


def field_violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return {v.field: v.reason for v in bad.field_violations}
    return {}


async def test_an_invoice_made_with_a_template_is_what_quickbooks_records(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        created = (
            await settings.CreateInvoiceTemplate(
                settings_service_pb2.CreateInvoiceTemplateRequest(
                    parent=COMPANY, template=retainer()
                ),
                metadata=MD,
            )
        ).template
        assert created.name.startswith(f"{COMPANY}/invoiceTemplates/")
        listed = await settings.ListInvoiceTemplates(
            settings_service_pb2.ListInvoiceTemplatesRequest(parent=COMPANY), metadata=MD
        )
        assert [t.display_name for t in listed.templates] == ["Retainer"]
        options = await settings.ListInvoiceOptions(
            settings_service_pb2.ListInvoiceOptionsRequest(parent=COMPANY), metadata=MD
        )
        assert [(f.id, f.display_name) for f in options.custom_fields] == [
            ("1", "Crew #"),
            ("2", "PO Number"),
        ]

        # The draft starts from the default template, its deal field read from the deal.
        draft = await draft_of(invoices, DEAL)
        assert draft.template == created.name
        assert draft.invoice.memo == "Thank you for your trust."
        assert draft.invoice.private_note == "Monthly retainer"
        assert draft.invoice.terms_id == "2"
        assert [(f.definition_id, f.value) for f in draft.invoice.custom_fields] == [
            ("1", "Initech TPS automation"),
            ("2", "PO-9981"),
        ]
        assert draft.invoice.allow_online_credit_card_payment is True

        # Through the API, only the template named: it fills what the invoice leaves unset.
        invoice = invoice_pb2.Invoice()
        invoice.CopyFrom(draft.invoice)
        invoice.customer.CopyFrom(customer_pb2.Customer(display_name="Template Co"))
        invoice.memo, invoice.terms_id, invoice.due_date = "", "", ""
        for name in ("private_note", "bill_email_cc", "bill_email_bcc", "custom_fields"):
            invoice.ClearField(name)
        invoice.allow_online_ach_payment = True  # the user's own choice wins
        made = (
            await invoices.CreateInvoice(
                invoice_service_pb2.CreateInvoiceRequest(
                    parent=DEAL, invoice=invoice, request_id="tpl-1", template=created.name
                ),
                metadata=MD,
            )
        ).invoice
        assert made.state == invoice_pb2.INVOICE_STATE_OPEN, made.failure_reason
        assert (made.memo, made.terms_id) == ("Thank you for your trust.", "2")

        recorded = await qbo_invoice(emulators, made.quickbooks_invoice_id)
        assert recorded["CustomField"] == [
            {
                "DefinitionId": "1",
                "Type": "StringType",
                "Name": "Crew #",
                "StringValue": "Initech TPS automation",
            },
            {
                "DefinitionId": "2",
                "Type": "StringType",
                "Name": "PO Number",
                "StringValue": "PO-9981",
            },
        ]
        assert recorded["BillEmailCc"] == {"Address": "ops@initech.example, boss@initech.example"}
        assert recorded["BillEmailBcc"] == {"Address": "books@dealbooks.example"}
        assert recorded["CustomerMemo"] == {"value": "Thank you for your trust."}
        assert str(recorded["PrivateNote"]).startswith("Monthly retainer\n\ndealbooks invoice ")
        assert recorded["SalesTermRef"] == {"value": "2", "name": "Net 15"}
        assert recorded["AllowOnlineCreditCardPayment"] is True
        assert recorded["AllowOnlineACHPayment"] is True
        assert Decimal(str(recorded["TotalAmt"])) == Decimal(made.totals.total.amount)


async def test_bad_templates_and_unknown_ones_are_invalid_arguments_naming_the_field(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, _ = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        await settings.CreateInvoiceTemplate(
            settings_service_pb2.CreateInvoiceTemplateRequest(parent=COMPANY, template=retainer()),
            metadata=MD,
        )

        with pytest.raises(grpc.aio.AioRpcError) as taken:
            await settings.CreateInvoiceTemplate(
                settings_service_pb2.CreateInvoiceTemplateRequest(
                    parent=COMPANY, template=retainer(display_name="retainer", bill_email_cc="x")
                ),
                metadata=MD,
            )
        assert taken.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(taken.value) == {"template.bill_email_cc": MessageCode.NOT_AN_EMAIL}

        with pytest.raises(grpc.aio.AioRpcError) as duplicate:
            await settings.CreateInvoiceTemplate(
                settings_service_pb2.CreateInvoiceTemplateRequest(
                    parent=COMPANY, template=retainer(display_name="RETAINER")
                ),
                metadata=MD,
            )
        assert field_violations(duplicate.value) == {
            "template.display_name": MessageCode.TEMPLATE_NAME_TAKEN
        }

        draft = await draft_of(invoices, DEAL)
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await invoices.CreateInvoice(
                invoice_service_pb2.CreateInvoiceRequest(
                    parent=DEAL,
                    invoice=draft.invoice,
                    request_id="tpl-2",
                    template=f"{COMPANY}/invoiceTemplates/nope",
                ),
                metadata=MD,
            )
        assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(unknown.value) == {"invoice.template": MessageCode.UNKNOWN_TEMPLATE}

        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await settings.DeleteInvoiceTemplate(
                settings_service_pb2.DeleteInvoiceTemplateRequest(
                    name=f"{COMPANY}/invoiceTemplates/nope"
                ),
                metadata=MD,
            )
        assert gone.value.code() == grpc.StatusCode.NOT_FOUND
