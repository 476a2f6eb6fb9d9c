"""InvoiceService: proto -> command -> use case -> proto; nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands import (
    CreateInvoiceCommand,
    DealRef,
    InvoiceActionCommand,
    InvoiceRef,
    ListPageCommand,
    RetryRuleRunCommand,
    SendInvoiceCommand,
)
from application.invoicing.by_rule import ListRuleRuns, RetryRuleRun
from application.invoicing.create import CreateInvoice
from application.invoicing.deal_summary import GetDealInvoicing
from application.invoicing.delete import DeleteInvoice
from application.invoicing.events import ListInvoiceEvents
from application.invoicing.get import GetInvoice
from application.invoicing.listing import ListInvoices
from application.invoicing.pdf import GetInvoicePdf
from application.invoicing.prepare import PrepareInvoice
from application.invoicing.refresh import RefreshInvoices
from application.invoicing.send import SendInvoice
from application.invoicing.void import VoidInvoice
from dealbooks.v1 import invoice_service_pb2 as pb
from dealbooks.v1 import invoice_service_pb2_grpc
from entrypoints.grpc import Context
from entrypoints.grpc.invoice_mappers import (
    deal_invoicing_to_proto,
    draft_to_proto,
    event_to_proto,
    invoice_input_from_proto,
    invoice_to_proto,
)
from entrypoints.grpc.names import (
    parse_deal_invoicing_name,
    parse_deal_name,
    parse_invoice_filter,
    parse_invoice_name,
    parse_rule_run_name,
    parse_template_name,
)
from entrypoints.grpc.rule_mappers import run_to_proto
from entrypoints.grpc.share_mappers import share_from_proto
from entrypoints.principal import current_principal

# What the caller chose for this invoice; unspecified (absent here) leaves it to the company.
_COPY = {pb.CUSTOMER_DETAILS_COPY_ALWAYS: True, pb.CUSTOMER_DETAILS_COPY_NEVER: False}


def _deal(parent: str) -> DealRef:
    company, deal = parse_deal_name(parent)
    return DealRef(current_principal(), company, deal)


def template_id_of(company_id: str, name: str) -> str:
    """The template's id from its name (empty: none); another company's is not found."""
    if not name:
        return ""
    company, template_id = parse_template_name(name, "template")
    return template_id if company == company_id else name


def create_command(request: pb.CreateInvoiceRequest) -> CreateInvoiceCommand:
    """The command a CreateInvoiceRequest stands for (alone or in a batch)."""
    ref = _deal(request.parent)
    data = invoice_input_from_proto(
        request.invoice,
        update_customer_details=_COPY.get(
            request.customer_details_copy, True if request.update_customer_details else None
        ),
        exchange_rate=request.exchange_rate,
        template_id=template_id_of(ref.company_id, request.template),
        deposit=request.deposit,
    )
    return CreateInvoiceCommand(ref, data, request.request_id)


def _invoice(name: str) -> InvoiceRef:
    company, deal, invoice = parse_invoice_name(name)
    return InvoiceRef(current_principal(), company, deal, invoice)


@dataclass(frozen=True, kw_only=True)
class InvoiceServicer(invoice_service_pb2_grpc.InvoiceServiceServicer):
    prepare: PrepareInvoice
    create: CreateInvoice
    rule_runs: ListRuleRuns
    retry_rule_run: RetryRuleRun
    get: GetInvoice
    list_invoices: ListInvoices
    void: VoidInvoice
    delete: DeleteInvoice
    send: SendInvoice
    pdf: GetInvoicePdf
    refresh: RefreshInvoices
    events: ListInvoiceEvents
    deal_invoicing: GetDealInvoicing

    async def PrepareInvoice(
        self, request: pb.PrepareInvoiceRequest, context: Context
    ) -> pb.PrepareInvoiceResponse:
        share = share_from_proto(request.share) if request.HasField("share") else None
        draft = await self.prepare.execute(_deal(request.parent), share)
        return pb.PrepareInvoiceResponse(draft=draft_to_proto(draft))

    async def CreateInvoice(
        self, request: pb.CreateInvoiceRequest, context: Context
    ) -> pb.CreateInvoiceResponse:
        view = await self.create.execute(create_command(request))
        return pb.CreateInvoiceResponse(invoice=invoice_to_proto(view))

    async def GetInvoice(
        self, request: pb.GetInvoiceRequest, context: Context
    ) -> pb.GetInvoiceResponse:
        view = await self.get.execute(_invoice(request.name))
        return pb.GetInvoiceResponse(invoice=invoice_to_proto(view))

    async def ListInvoices(
        self, request: pb.ListInvoicesRequest, context: Context
    ) -> pb.ListInvoicesResponse:
        page = await self.list_invoices.execute(
            ListPageCommand(_deal(request.parent), request.page_size, request.page_token)
        )
        return pb.ListInvoicesResponse(
            invoices=[invoice_to_proto(v) for v in page.items],
            next_page_token=page.next_page_token,
        )

    async def VoidInvoice(
        self, request: pb.VoidInvoiceRequest, context: Context
    ) -> pb.VoidInvoiceResponse:
        view = await self.void.execute(
            InvoiceActionCommand(_invoice(request.name), request.request_id)
        )
        return pb.VoidInvoiceResponse(invoice=invoice_to_proto(view))

    async def DeleteInvoice(
        self, request: pb.DeleteInvoiceRequest, context: Context
    ) -> pb.DeleteInvoiceResponse:
        view = await self.delete.execute(
            InvoiceActionCommand(_invoice(request.name), request.request_id)
        )
        return pb.DeleteInvoiceResponse(invoice=invoice_to_proto(view))

    async def SendInvoice(
        self, request: pb.SendInvoiceRequest, context: Context
    ) -> pb.SendInvoiceResponse:
        view = await self.send.execute(
            SendInvoiceCommand(_invoice(request.name), request.to, request.request_id)
        )
        return pb.SendInvoiceResponse(invoice=invoice_to_proto(view))

    async def GetInvoicePdf(
        self, request: pb.GetInvoicePdfRequest, context: Context
    ) -> pb.GetInvoicePdfResponse:
        pdf = await self.pdf.execute(_invoice(request.name))
        return pb.GetInvoicePdfResponse(
            content=pdf.content, filename=pdf.filename, content_type="application/pdf"
        )

    async def RefreshInvoices(
        self, request: pb.RefreshInvoicesRequest, context: Context
    ) -> pb.RefreshInvoicesResponse:
        page = await self.refresh.execute(_deal(request.parent))
        return pb.RefreshInvoicesResponse(
            invoices=[invoice_to_proto(v) for v in page.items],
            next_page_token=page.next_page_token,
        )

    async def ListInvoiceEvents(
        self, request: pb.ListInvoiceEventsRequest, context: Context
    ) -> pb.ListInvoiceEventsResponse:
        deal = _deal(request.parent)
        invoice_id = parse_invoice_filter(request.filter, deal.company_id, deal.deal_id)
        page = await self.events.execute(
            ListPageCommand(deal, request.page_size, request.page_token, invoice_id)
        )
        return pb.ListInvoiceEventsResponse(
            events=[event_to_proto(e) for e in page.items], next_page_token=page.next_page_token
        )

    async def ListInvoiceRuleRuns(
        self, request: pb.ListInvoiceRuleRunsRequest, context: Context
    ) -> pb.ListInvoiceRuleRunsResponse:
        runs = await self.rule_runs.execute(_deal(request.parent))
        return pb.ListInvoiceRuleRunsResponse(runs=[run_to_proto(r) for r in runs])

    async def RetryInvoiceRuleRun(
        self, request: pb.RetryInvoiceRuleRunRequest, context: Context
    ) -> pb.RetryInvoiceRuleRunResponse:
        company, deal, rule = parse_rule_run_name(request.name)
        ref = DealRef(current_principal(), company, deal)
        run = await self.retry_rule_run.execute(RetryRuleRunCommand(ref, rule))
        return pb.RetryInvoiceRuleRunResponse(run=run_to_proto(run))

    async def GetDealInvoicing(
        self, request: pb.GetDealInvoicingRequest, context: Context
    ) -> pb.GetDealInvoicingResponse:
        company, deal = parse_deal_invoicing_name(request.name)
        figures = await self.deal_invoicing.execute(DealRef(current_principal(), company, deal))
        return pb.GetDealInvoicingResponse(deal_invoicing=deal_invoicing_to_proto(figures))
