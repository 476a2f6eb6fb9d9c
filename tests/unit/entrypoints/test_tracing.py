"""Tracing's parts: where spans go (settings), what they may hold (no URL query values), which
traces start (served requests), and the trace ids in the logs."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from entrypoints.log_config import add_trace_ids
from entrypoints.settings import ConfigurationError, load_settings, otlp_traces_endpoint
from entrypoints.tracing import redact_query, tracer_provider, without_query_values


@pytest.mark.parametrize(
    ("env", "endpoint"),
    [
        ({}, None),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
            "http://collector:4318/v1/traces",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example/"},
            "https://otel.example/v1/traces",
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom",
            },
            "http://traces:4318/custom",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"},
            None,
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            },
            "http://collector:4318/v1/traces",
        ),
    ],
)
def test_traces_go_where_opentelemetrys_variables_say_and_nowhere_without_them(
    env: dict[str, str], endpoint: str | None
) -> None:
    assert otlp_traces_endpoint(env) == endpoint
    assert load_settings(env).otlp_traces_endpoint == endpoint


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ],
)
def test_a_tracing_configuration_that_cannot_work_stops_the_start(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        load_settings(env)


def test_query_values_are_replaced_and_their_keys_kept() -> None:
    assert redact_query("code=abc&state=xyz&realmId=1") == (
        "code=REDACTED&state=REDACTED&realmId=REDACTED"
    )
    assert without_query_values("http://h/ui/panel?token=eyJ.x.y&lang=fr#top") == (
        "http://h/ui/panel?token=REDACTED&lang=REDACTED"
    )
    assert without_query_values("/v3/company/1/invoice") == "/v3/company/1/invoice"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def finished(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def test_spans_never_hold_the_values_of_a_url_query(exporter: InMemorySpanExporter) -> None:
    tracer = tracer_provider(SimpleSpanProcessor(exporter)).get_tracer("test")
    secret = "the-oauth-code-1234"
    with tracer.start_as_current_span(
        "GET /oauth/quickbooks/callback",
        kind=SpanKind.SERVER,
        attributes={
            "http.target": f"/oauth/quickbooks/callback?code={secret}&state=s",
            "http.url": f"http://127.0.0.1:8080/oauth/quickbooks/callback?code={secret}",
            "url.query": f"code={secret}",
            "http.route": "/oauth/quickbooks/callback",
        },
    ):
        pass
    span = finished(exporter)["GET /oauth/quickbooks/callback"]
    assert span.attributes is not None
    assert span.attributes["http.target"] == (
        "/oauth/quickbooks/callback?code=REDACTED&state=REDACTED"
    )
    assert span.attributes["http.url"] == (
        "http://127.0.0.1:8080/oauth/quickbooks/callback?code=REDACTED"
    )
    assert span.attributes["url.query"] == "code=REDACTED"
    assert secret not in str(dict(span.attributes))


def test_traces_start_at_served_requests_not_at_a_lone_query(
    exporter: InMemorySpanExporter,
) -> None:
    tracer = tracer_provider(SimpleSpanProcessor(exporter)).get_tracer("test")
    with tracer.start_as_current_span("SELECT outside any request", kind=SpanKind.CLIENT):
        pass
    with (
        tracer.start_as_current_span(
            "/dealbooks.v1.InvoiceService/CreateInvoice", kind=SpanKind.SERVER
        ),
        tracer.start_as_current_span("INSERT in the request", kind=SpanKind.CLIENT),
    ):
        pass
    assert set(finished(exporter)) == {
        "/dealbooks.v1.InvoiceService/CreateInvoice",
        "INSERT in the request",
    }


def test_the_service_is_named_dealbooks_unless_otel_service_name_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert tracer_provider().resource.attributes[SERVICE_NAME] == "dealbooks"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "dealbooks-eu")
    assert tracer_provider().resource.attributes[SERVICE_NAME] == "dealbooks-eu"


def test_log_lines_carry_the_active_spans_trace_and_span_ids(
    exporter: InMemorySpanExporter,
) -> None:
    tracer = tracer_provider(SimpleSpanProcessor(exporter)).get_tracer("test")
    assert add_trace_ids(None, "info", {"event": "outside"}) == {"event": "outside"}
    with tracer.start_as_current_span("request", kind=SpanKind.SERVER) as span:
        line = add_trace_ids(None, "info", {"event": "invoice.created"})
    context = span.get_span_context()
    assert line == {
        "event": "invoice.created",
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
    }
