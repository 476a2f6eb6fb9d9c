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
        self.jobs_waiting = Gauge(
            "dealbooks_jobs_waiting",
            "Jobs queued and not started, by queue.",
            ["queue"],
            registry=self.registry,
        )
        self.notices_pending = Gauge(
            "dealbooks_quickbooks_notices_pending",
            "QuickBooks change notices stored and not applied yet.",
            registry=self.registry,
        )
        self.sync_lag = Gauge(
            "dealbooks_sync_lag_seconds",
            "Age of the oldest CDC watermark among connected companies.",
            registry=self.registry,
        )
        self.quickbooks_metered_reads = Counter(
            "dealbooks_quickbooks_metered_reads",
            "QuickBooks calls Intuit meters (CorePlus: reads, queries, CDC), by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.quickbooks_reads_month = Gauge(
            "dealbooks_quickbooks_reads_this_month",
            "Metered QuickBooks reads of the whole deployment this month (Intuit's quota).",
            registry=self.registry,
        )
        self.quickbooks_reads_rationed = Gauge(
            "dealbooks_quickbooks_reads_rationed",
            "1 when this month's metered reads reached the quota less its reserve: optional "
            "reads (the daily CDC catch-up) are skipped until the month turns.",
            registry=self.registry,
        )
        self.companies_purged = Counter(
            "dealbooks_companies_purged",
            "Companies whose data was forgotten, their purge due after the last uninstall.",
            registry=self.registry,
        )
        self.database_up = Gauge(
            "dealbooks_database_up",
            "1 when the last database check passed.",
            registry=self.registry,
        )

    def count_quickbooks_read(self, kind: str) -> None:
        self.quickbooks_metered_reads.labels(kind=kind).inc()
