"""One trace for one CreateInvoice: the gRPC call, its database queries, the QuickBooks HTTP
call and QuickBooks' side of it (the emulator, reached with the trace context in its headers),
with the trace and span ids in the service's log lines and no customer data in any span."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from dealbooks.v1 import customer_pb2, invoice_pb2, invoice_service_pb2_grpc
from entrypoints.emulated import US_REALM, Emulators
from entrypoints.service import Service
from entrypoints.tracing import instrument, tracer_provider
from tests.e2e.conftest import OPERATOR
from tests.e2e.test_journey import (  # noqa: F401  (world: the fixture)
    DEAL,
    create_invoice,
    draft_of,
    world,
)
from tests.e2e.test_log_privacy import debug_logs  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e

NAME = "Tracewell Widgets Ltd"
CREATE_INVOICE = "/dealbooks.v1.InvoiceService/CreateInvoice"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing as ``dealbooks serve`` starts it, spans kept in memory (set up before the
    service and the emulators, which it instruments as they are built)."""
    exporter = InMemorySpanExporter()
    tracing = instrument(tracer_provider(SimpleSpanProcessor(exporter)))
    try:
        yield exporter
    finally:
        tracing.stop()


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_one_trace_goes_from_create_invoice_through_the_quickbooks_call(
    debug_logs: Path,  # noqa: F811
    spans: InMemorySpanExporter,
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        draft = await draft_of(invoices)
        invoice = invoice_pb2.Invoice()
        invoice.CopyFrom(draft.invoice)
        for line in invoice.lines:
            line.item_id = line.item_id or "1"
        invoice.customer.CopyFrom(customer_pb2.Customer(display_name=NAME))
        created = await create_invoice(invoices, DEAL, invoice, "tracing-1")
        # Probes are not traced (a trace for each, many times a minute, would drown the rest).
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/readyz"):
            async with http.get(f"http://127.0.0.1:{service.http_port_bound}{path}") as answer:
                assert answer.status == 200
    assert created.state == invoice_pb2.INVOICE_STATE_OPEN, created.failure_reason

    names = {s.name for s in spans.get_finished_spans()}
    assert not {"/grpc.health.v1.Health/Check", "GET /healthz", "GET /readyz"} & names
    [rpc] = [s for s in spans.get_finished_spans() if s.name == CREATE_INVOICE]
    assert rpc.kind is SpanKind.SERVER
    assert rpc.parent is None  # the client sent no trace context: the trace starts here
    trace_id = rpc.context.trace_id
    trace = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in trace}
    assert len(by_id) == len(trace)

    def attribute(span: ReadableSpan, key: str) -> str:
        return str((span.attributes or {}).get(key, ""))

    # Our call to QuickBooks, inside the RPC ...
    invoice_path = f"/v3/company/{US_REALM}/invoice"
    [call] = [
        s
        for s in trace
        if s.kind is SpanKind.CLIENT
        and attribute(s, "http.method") == "POST"
        and f"{invoice_path}?" in attribute(s, "http.url")
    ]
    assert attribute(call, "http.url").startswith(emulators.quickbooks_url)
    assert int(attribute(call, "http.status_code")) == 200
    assert CREATE_INVOICE in ancestors(call, by_id)
    # ... QuickBooks' side of it, a child of that call (the traceparent header reached it) ...
    [served] = [
        s
        for s in trace
        if s.kind is SpanKind.SERVER and s.parent and s.parent.span_id == call.context.span_id
    ]
    assert attribute(served, "http.target").startswith(invoice_path)
    # ... and the database, between the two.
    queries = [s for s in trace if attribute(s, "db.system") == "postgresql"]
    assert queries
    assert all(CREATE_INVOICE in ancestors(q, by_id) for q in queries)
    assert any("INSERT INTO invoices" in attribute(q, "db.statement") for q in queries)

    # No span holds the customer's name, the API token, or a query string's values (the
    # QuickBooks client's minorversion and requestid included).
    everything = json.dumps(
        [{**dict(s.attributes or {}), "name": s.name} for s in spans.get_finished_spans()]
    )
    assert NAME not in everything
    assert OPERATOR not in everything
    assert "minorversion=REDACTED" in attribute(call, "http.url")

    # The service's log lines during the RPC name the trace and their span.
    text = await asyncio.to_thread(debug_logs.read_text, encoding="utf-8")
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    [completed] = [
        e for e in events if e.get("event") == "rpc.completed" and e.get("rpc") == CREATE_INVOICE
    ]
    assert completed["trace_id"] == f"{trace_id:032x}"
    assert int(completed["span_id"], 16) in by_id
    created_lines = [e for e in events if e.get("event") == "invoice.created"]
    assert created_lines
    assert {e.get("trace_id") for e in created_lines} == {f"{trace_id:032x}"}
