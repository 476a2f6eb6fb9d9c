"""Tracing with OpenTelemetry: a span for each gRPC call and HTTP request served, each vendor
HTTP call and each asyncpg query, exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is
set. When it is not, this module is not even imported: nothing is patched, no span is made.

The instrumentations are OpenTelemetry's own and patch process-wide (``grpc.aio.server``,
``aiohttp.web.Application``, ``aiohttp.ClientSession``, ``asyncpg.Connection``): ``instrument``
runs once, before the service builds its servers, sessions and engine."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer, filters
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes
from yarl import URL

DEFAULT_SERVICE_NAME = "dealbooks"
REDACTED = "REDACTED"
#: Probes and scrapes: many a minute, and nothing to follow in them.
UNTRACED_PATHS = ("/healthz", "/readyz", "/metrics")
#: Span attributes holding a URL (old and new HTTP semantic conventions) or its query alone.
_URL_ATTRIBUTES = ("http.url", "http.target", "url.full")
_QUERY_ATTRIBUTES = ("url.query",)


def redact_query(query: str) -> str:
    """A query string with its keys kept and every value replaced: values may be credentials
    (an OAuth ``code``, the ``token`` Pipedrive signs into our UI's URLs) or business data."""
    keys = (part.partition("=")[0] for part in query.split("&") if part)
    return "&".join(f"{key}={REDACTED}" for key in keys)


def without_query_values(url: str) -> str:
    head, question, query = url.partition("?")
    if not question:
        return url
    return f"{head}?{redact_query(query.partition('#')[0])}"


class RedactUrlQueries(SpanProcessor):
    """Rewrites the URLs the HTTP instrumentations record when a span starts, before any
    exporter can see them (they only redact a few cloud signatures themselves)."""

    def on_start(self, span: Span, parent_context: context.Context | None = None) -> None:
        attributes: Mapping[str, object] = span.attributes or {}
        for key in _URL_ATTRIBUTES:
            value = attributes.get(key)
            if isinstance(value, str) and "?" in value:
                span.set_attribute(key, without_query_values(value))
        for key in _QUERY_ATTRIBUTES:
            value = attributes.get(key)
            if isinstance(value, str) and value:
                span.set_attribute(key, redact_query(value))


class ServedRequests(Sampler):
    """Traces start where the service is asked something (a gRPC call, an HTTP request). A
    database query or vendor call made outside any of them (a job, the database health watch)
    starts no trace of its own: thousands of one-span traces would say little."""

    def should_sample(
        self,
        parent_context: context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "ServedRequests"


def tracer_provider(*processors: SpanProcessor) -> TracerProvider:
    """The service's tracer provider: its resource (OTEL_SERVICE_NAME and
    OTEL_RESOURCE_ATTRIBUTES apply, the service name defaults to dealbooks), the sampler, URL
    redaction first, then ``processors`` (the exporting one)."""
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource, sampler=ParentBased(root=ServedRequests()))
    for processor in (RedactUrlQueries(), *processors):
        provider.add_span_processor(processor)
    return provider


class Instrumentor(Protocol):
    """What of OpenTelemetry's BaseInstrumentor we use (its module is marked untyped)."""

    def uninstrument(self, **kwargs: Any) -> None: ...


@dataclass
class Tracing:
    provider: TracerProvider
    instrumentors: tuple[Instrumentor, ...]

    def stop(self) -> None:
        """Undo the instrumentation and send the spans still batched."""
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()
        self.provider.shutdown()


def instrument(provider: TracerProvider) -> Tracing:
    """Instrument the gRPC server, aiohttp (server and client) and asyncpg with ``provider``."""
    excluded = ",".join(f"^{path}$" for path in UNTRACED_PATHS)
    os.environ.setdefault("OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS", excluded)
    grpc_server = GrpcAioInstrumentorServer(filter_=filters.negate(filters.health_check()))
    grpc_server.instrument(tracer_provider=provider)
    aiohttp_server = AioHttpServerInstrumentor()
    aiohttp_server.instrument(tracer_provider=provider)
    aiohttp_client = AioHttpClientInstrumentor()

    def url_filter(url: URL) -> str:
        return without_query_values(str(url))

    aiohttp_client.instrument(tracer_provider=provider, url_filter=url_filter)
    database = AsyncPGInstrumentor(capture_parameters=False)
    database.instrument(tracer_provider=provider)
    return Tracing(provider, (grpc_server, aiohttp_server, aiohttp_client, database))


def start_tracing(endpoint: str) -> Tracing:
    """Spans batched and sent to ``endpoint`` (OTLP/HTTP; the exporter reads the other
    OTEL_EXPORTER_OTLP_* variables: headers, timeout, compression, certificate)."""
    provider = tracer_provider(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    return instrument(provider)
