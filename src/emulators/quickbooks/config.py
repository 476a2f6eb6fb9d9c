"""Configuration of the QuickBooks Online emulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

WebhookFormat = Literal["classic", "cloudevents"]

#: Intuit: "Your previous refresh tokens expire 24 hours after you receive a new one."
DEFAULT_REFRESH_GRACE_SECONDS = 24 * 3600


@dataclass
class Limits:
    """Per-realm throttles (Intuit "API call limits and throttles")."""

    requests_per_minute: int = 500
    requests_per_second: int = 10
    concurrent_requests: int = 10
    batch_max_items: int = 30
    batch_calls_per_minute: int = 40
    #: "auto": XML when the request's Accept prefers XML, else JSON; "xml": always XML (the
    #: observed QBO quirk of answering JSON clients with XML); "json": always JSON.
    throttle_body: Literal["auto", "xml", "json"] = "auto"
    max_results: int = 1000
    cdc_max_objects: int = 1000
    cdc_max_days: int = 30


@dataclass
class EmulatorConfig:
    client_id: str = "dealbooks-demo-client"
    client_secret: str = "dealbooks-demo-secret"
    redirect_uris: list[str] = field(
        default_factory=lambda: ["http://127.0.0.1:8080/oauth/quickbooks/callback"]
    )
    webhook_verifier_token: str = "dealbooks-demo-verifier"
    webhook_url: str | None = None
    webhook_format: WebhookFormat = "classic"
    #: Seconds changes are collected before one delivery (sandbox is "near real time").
    webhook_aggregation_seconds: float = 0.5
    #: Multiplies Intuit's retry schedule (10s, 20s, 30s, 5m, ...); tests use e.g. 0.001.
    webhook_retry_scale: float = 1.0
    #: Intuit requires an answer within 3 s.
    webhook_timeout_seconds: float = 3.0
    auto_approve: bool = False
    refresh_grace_seconds: float = DEFAULT_REFRESH_GRACE_SECONDS
    access_token_ttl: int = 3600
    #: Rolling refresh-token lifetime (x_refresh_token_expires_in, ~101 days).
    refresh_token_ttl: int = 8726400
    #: Five-year hard cap announced Nov 2025.
    refresh_token_hard_ttl: int = 5 * 365 * 24 * 3600
    #: [U] Intuit does not state the authorization-code lifetime; a few minutes is typical.
    auth_code_ttl: int = 300
    limits: Limits = field(default_factory=Limits)
    #: CorePlus (read) calls a month for the app (``client_id``); None: unmetered, as the paid
    #: tiers are in practice. Intuit's Builder tier: 500,000 a month per workspace (§1.7).
    coreplus_monthly_quota: int | None = None
    #: Base URL the discovery documents advertise; None derives it from the request's Host.
    public_base_url: str | None = None
    seed_demo: bool = True
    us_realm_id: str = "9130354840911234"
    intl_realm_id: str = "9130354840922468"
    #: Realm chosen by auto-approve (and preselected on the consent page); None = US demo realm.
    default_realm_id: str | None = None
    #: How long a "timeout" fault hangs (Intuit times requests out after 120 s).
    hang_seconds: float = 130.0
