"""Prometheus metrics, one registry per process (tests build several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rpc_requests = Counter(
            "dealbooks_grpc_requests",
            "gRPC calls handled, by method and status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self.rpc_duration = Histogram(
            "dealbooks_grpc_request_duration_seconds",
            "gRPC call duration.",
            ["method"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "dealbooks_http_requests",
            "HTTP requests handled, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "dealbooks_http_request_duration_seconds",
            "HTTP request duration.",
            ["route"],
            registry=self.registry,
        )
        self.database_up = Gauge(
            "dealbooks_database_up",
            "1 when the last database check passed.",
            registry=self.registry,
        )
