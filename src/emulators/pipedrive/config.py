"""Emulator configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

# Plan limits from the Pipedrive rate-limiting guide (reference §10). We emulate the "Growth"
# (a.k.a. "Advanced") plan: OAuth apps get 160 requests and api_token integrations 40 requests
# per token per rolling 2-second window; the company budget is 30,000 x 2 (plan multiplier) x seats.
GROWTH_OAUTH_BURST = 160
GROWTH_API_TOKEN_BURST = 40
GROWTH_MULTIPLIER = 2
DEMO_SEATS = 3

# The demo app's Developer Hub registration: the scopes dealbooks asks for (its
# adapters/pipedrive/scopes.py; tests/integration/pipedrive/test_scopes.py keeps them equal).
DEFAULT_SCOPES: tuple[str, ...] = (
    "base",
    "deals:full",
    "contacts:read",
    "users:read",
    "admin",
    "activities:full",
)


@dataclass
class EmulatorConfig:
    """Everything the emulator needs to know; all of it has a demo-friendly default."""

    client_id: str = "dealbooks-demo-client"
    client_secret: str = "dealbooks-demo-secret"
    callback_url: str = "http://127.0.0.1:8080/oauth/pipedrive/callback"
    jwt_secret: str = "dealbooks-demo-jwt-secret-32-bytes"
    auto_approve: bool = False
    # The emulator's own base URL, returned as `api_domain`; None = derived from the request host.
    public_base_url: str | None = None
    # Per-token burst limit per rolling window (OAuth access tokens / api_token integrations).
    burst_limit: int = GROWTH_OAUTH_BURST
    api_token_burst_limit: int = GROWTH_API_TOKEN_BURST
    burst_window_seconds: float = 2.0
    # Company-wide daily token budget (drawn by each operation's `x-token-cost`).
    daily_token_budget: int = 30_000 * GROWTH_MULTIPLIER * DEMO_SEATS
    # Legacy POST/PUT daily counter reported in `x-daily-requests-left` (api_token requests only).
    daily_write_requests: int = 10_000
    # Undocumented headers observed on the live API ([C-3p]); on by default.
    daily_token_headers: bool = True
    seed_demo: bool = True
    # Scopes the app was given in Developer Hub; granted to every OAuth install.
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    access_token_ttl_seconds: int = 3599
    authorization_code_ttl_seconds: int = 300
    refresh_token_idle_days: int = 60
    # Webhook delivery: 3 more tries after 3, 30 and 150 s (reference §9); timeout 10 s.
    webhook_retry_delays: tuple[float, ...] = field(default=(3.0, 30.0, 150.0))
    webhook_timeout_seconds: float = 10.0
