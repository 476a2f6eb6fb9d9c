"""Typed configuration from the environment (12-factor); fails fast on what is missing or wrong."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from application.auth import Principal

DEV_API_TOKEN = "dealbooks-dev-token"
DEV_SECRET_KEY = "dealbooks-development-secret-key-not-for-production"
DEMO_CLIENT_ID = "dealbooks-demo-client"
DEMO_CLIENT_SECRET = "dealbooks-demo-secret"
QUICKBOOKS_EMULATOR_URL = "http://127.0.0.1:8089"
PIPEDRIVE_EMULATOR_URL = "http://127.0.0.1:8091"


@dataclass(frozen=True)
class QuickBooksSettings:
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    environment: str = "sandbox"
    webhook_verifier_token: str = "dealbooks-demo-verifier"
    # Override of every Intuit base URL (API, OAuth, discovery) -- an emulator. Empty: Intuit's.
    base_url: str = QUICKBOOKS_EMULATOR_URL
    # Intuit's monthly CorePlus quota (Builder tier: 500,000 metered reads per workspace; 0: none)
    # and the share kept in reserve: past quota x (1 - reserve), optional reads are skipped.
    read_quota: int = 500_000
    read_reserve: float = 0.1


@dataclass(frozen=True)
class PipedriveSettings:
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    jwt_secret: str = "dealbooks-demo-jwt-secret-32-bytes"
    # Where Pipedrive's OAuth lives (https://oauth.pipedrive.com); API calls use each
    # company's api_domain from its install.
    oauth_url: str = PIPEDRIVE_EMULATOR_URL
    # Basic-auth credentials our Pipedrive webhook subscriptions carry.
    webhook_user: str = "dealbooks"
    webhook_password: str = DEMO_CLIENT_SECRET
    # Where the panel's "Settings" link goes: our app's settings page inside Pipedrive.
    # Placeholders: {api_domain} (the company's Pipedrive URL), {client_id}, {public_url}.
    settings_link: str = "{api_domain}/settings/marketplace/app/{client_id}/app-settings"


class ConfigurationError(Exception):
    """The environment does not describe a runnable service; the message names the variable."""


DEFAULT_SDK_PATH = (
    Path(__file__).resolve().parents[2]
    / "node_modules/@pipedrive/app-extensions-sdk/dist/index.umd.js"
)


@dataclass(frozen=True)
class AppSettings:
    environment: str = "development"
    database_url: str | None = None
    data_dir: Path = Path(".data")
    bind_host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    secret_key: str = DEV_SECRET_KEY
    api_tokens: Mapping[str, Principal] = field(default_factory=dict)
    log_level: str = "INFO"
    log_format: str | None = None
    shutdown_grace_seconds: float = 5.0
    # On SIGTERM, how long /readyz answers 503 and gRPC health NOT_SERVING while the process
    # still serves, so that a load balancer takes the replica out before its listeners close.
    drain_seconds: float = 0.0
    # The size of each of a process's database pools (the unit of work's, which may overflow
    # by as many again, the read side's and the job queue's): at most 4x this many connections.
    database_pool_size: int = 10
    cdc_interval_minutes: int = 5
    # Shown on the public support page; empty: the page says none is configured.
    support_email: str = ""
    worker_concurrency: int = 4
    # How long a company's data is kept after its last Pipedrive user uninstalled the app.
    purge_after: timedelta = timedelta(days=30)
    # The Pipedrive app-extensions SDK (UMD build) the UI pages load; `make setup` installs it
    # from npm. Missing: the pages still work opened directly in a tab, not inside Pipedrive.
    ui_sdk_path: Path = DEFAULT_SDK_PATH
    # Where spans go (OTLP over HTTP): OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. None: no tracing.
    otlp_traces_endpoint: str | None = None
    quickbooks: QuickBooksSettings = field(default_factory=QuickBooksSettings)
    pipedrive: PipedriveSettings = field(default_factory=PipedriveSettings)


def parse_api_tokens(raw: str) -> dict[str, Principal]:
    """``token=company[,company...]`` entries separated by ``;``; ``*`` allows every company."""
    tokens: dict[str, Principal] = {}
    for index, entry in enumerate(filter(None, (e.strip() for e in raw.split(";")))):
        token, sep, companies = entry.partition("=")
        token, companies = token.strip(), companies.strip()
        if not sep or len(token) < 16 or not companies:
            raise ConfigurationError(
                f"DEALBOOKS_API_TOKENS entry {index + 1} must look like "
                "'<token of 16+ characters>=<company>[,<company>...]' or '<token>=*'"
            )
        allowed = (
            None
            if companies == "*"
            else frozenset(c.strip() for c in companies.split(",") if c.strip())
        )
        tokens[token] = Principal(
            subject=f"api-token-{index + 1}", companies=allowed, is_admin=True
        )
    return tokens


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if not 0 <= value <= 65535:
        raise ConfigurationError(f"{name} must be a port number between 0 and 65535")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 <= value <= 300:
        raise ConfigurationError(f"{name} must be between 0 and 300 seconds")
    return value


def _pool_size(env: Mapping[str, str]) -> int:
    raw = env.get("DEALBOOKS_DATABASE_POOL_SIZE") or "10"
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ConfigurationError(
            f"DEALBOOKS_DATABASE_POOL_SIZE must be a whole number from 1 to 100, got {raw!r}"
        )
    return int(raw)


def _quota(env: Mapping[str, str]) -> tuple[int, float]:
    quota_raw = env.get("DEALBOOKS_QUICKBOOKS_READ_QUOTA") or "500000"
    reserve_raw = env.get("DEALBOOKS_QUICKBOOKS_READ_RESERVE") or "0.1"
    try:
        quota, reserve = int(quota_raw), float(reserve_raw)
    except ValueError:
        raise ConfigurationError(
            "DEALBOOKS_QUICKBOOKS_READ_QUOTA must be an integer and "
            "DEALBOOKS_QUICKBOOKS_READ_RESERVE a number between 0 and 1"
        ) from None
    if quota < 0 or not 0 <= reserve < 1:
        raise ConfigurationError(
            "DEALBOOKS_QUICKBOOKS_READ_QUOTA must be 0 or more and "
            "DEALBOOKS_QUICKBOOKS_READ_RESERVE at least 0 and below 1"
        )
    return quota, reserve


def otlp_traces_endpoint(env: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP URL spans are sent to, from OpenTelemetry's own variables: the traces
    endpoint as given, else the general endpoint + ``/v1/traces``; None when neither is set or
    OTEL_SDK_DISABLED=true. Only the http/protobuf protocol is installed."""
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return None
    traces = (env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or "").strip()
    base = (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip()
    if not traces and not base:
        return None
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol != "http/protobuf":
        raise ConfigurationError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL {protocol!r} is not supported: traces go over "
            "http/protobuf (the collector's OTLP/HTTP port, usually 4318)"
        )
    endpoint = traces or f"{base.rstrip('/')}/v1/traces"
    if not endpoint.startswith(("http://", "https://")):
        name = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" if traces else "OTEL_EXPORTER_OTLP_ENDPOINT"
        raise ConfigurationError(f"{name} must be an http:// or https:// URL")
    return endpoint


def _public_url(env: Mapping[str, str], production: bool, http_port: int) -> str:
    """How Pipedrive, Intuit and browsers reach the gateway. In production it must be HTTPS on a
    host name: Intuit refuses redirect URIs on plain HTTP or an IP address, and Pipedrive shows
    extensions only from HTTPS iframe URLs."""
    url = (env.get("DEALBOOKS_PUBLIC_URL") or "").strip().rstrip("/")
    if not production:
        return url or f"http://127.0.0.1:{http_port}"
    if not url:
        raise ConfigurationError("DEALBOOKS_PUBLIC_URL is required when DEALBOOKS_ENV=production")
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        is_address = True
    except ValueError:
        is_address = False
    if parts.scheme != "https" or not host or is_address or host == "localhost":
        raise ConfigurationError(
            "DEALBOOKS_PUBLIC_URL must be an https:// URL on a host name (not an IP address) "
            "when DEALBOOKS_ENV=production"
        )
    return url


MAX_PURGE_AFTER_DAYS = 365


def _purge_after(env: Mapping[str, str]) -> timedelta:
    name, raw = "DEALBOOKS_PURGE_AFTER_DAYS", (env.get("DEALBOOKS_PURGE_AFTER_DAYS") or "").strip()
    if not raw:
        return AppSettings.purge_after
    try:
        days = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number of days, got {raw!r}") from None
    if not 0 <= days <= MAX_PURGE_AFTER_DAYS:
        raise ConfigurationError(f"{name} must be between 0 and {MAX_PURGE_AFTER_DAYS} days")
    return timedelta(days=days)


def load_settings(env: Mapping[str, str] | None = None) -> AppSettings:
    env = os.environ if env is None else env
    environment = env.get("DEALBOOKS_ENV", "development").strip().lower()
    if environment not in ("development", "production"):
        raise ConfigurationError("DEALBOOKS_ENV must be 'development' or 'production'")
    production = environment == "production"
    dev_quickbooks, dev_pipedrive = QuickBooksSettings(), PipedriveSettings()  # demo defaults

    def required(name: str, dev_default: str) -> str:
        """The variable's value; only outside production may ``dev_default`` stand in."""
        value = env.get(name, "").strip()
        if value:
            return value
        if production:
            raise ConfigurationError(f"{name} is required when DEALBOOKS_ENV=production")
        return dev_default

    secret_key = required("DEALBOOKS_SECRET_KEY", DEV_SECRET_KEY)
    if production and len(secret_key) < 32:
        raise ConfigurationError("DEALBOOKS_SECRET_KEY must be at least 32 characters")
    tokens_raw = required("DEALBOOKS_API_TOKENS", f"{DEV_API_TOKEN}=*")
    log_format = env.get("DEALBOOKS_LOG_FORMAT") or None
    if log_format not in (None, "json", "console"):
        raise ConfigurationError("DEALBOOKS_LOG_FORMAT must be 'json' or 'console'")
    http_port = _int(env, "DEALBOOKS_HTTP_PORT", 8080)
    environment_qbo = (env.get("DEALBOOKS_QUICKBOOKS_ENVIRONMENT") or "sandbox").strip().lower()
    if environment_qbo not in ("sandbox", "production"):
        raise ConfigurationError(
            "DEALBOOKS_QUICKBOOKS_ENVIRONMENT must be 'sandbox' or 'production'"
        )
    read_quota, read_reserve = _quota(env)
    quickbooks = QuickBooksSettings(
        read_quota=read_quota,
        read_reserve=read_reserve,
        client_id=required("DEALBOOKS_QUICKBOOKS_CLIENT_ID", DEMO_CLIENT_ID),
        client_secret=required("DEALBOOKS_QUICKBOOKS_CLIENT_SECRET", DEMO_CLIENT_SECRET),
        environment=environment_qbo,
        webhook_verifier_token=required(
            "DEALBOOKS_QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN", dev_quickbooks.webhook_verifier_token
        ),
        base_url=(
            env.get("DEALBOOKS_QUICKBOOKS_BASE_URL", "" if production else QUICKBOOKS_EMULATOR_URL)
        ).rstrip("/"),
    )
    pipedrive = PipedriveSettings(
        client_id=required("DEALBOOKS_PIPEDRIVE_CLIENT_ID", DEMO_CLIENT_ID),
        client_secret=required("DEALBOOKS_PIPEDRIVE_CLIENT_SECRET", DEMO_CLIENT_SECRET),
        jwt_secret=required("DEALBOOKS_PIPEDRIVE_JWT_SECRET", dev_pipedrive.jwt_secret),
        webhook_user=env.get("DEALBOOKS_PIPEDRIVE_WEBHOOK_USER") or dev_pipedrive.webhook_user,
        webhook_password=required("DEALBOOKS_PIPEDRIVE_WEBHOOK_PASSWORD", DEMO_CLIENT_SECRET),
        settings_link=env.get("DEALBOOKS_PIPEDRIVE_SETTINGS_LINK") or dev_pipedrive.settings_link,
        oauth_url=(
            env.get(
                "DEALBOOKS_PIPEDRIVE_OAUTH_URL",
                "https://oauth.pipedrive.com" if production else PIPEDRIVE_EMULATOR_URL,
            )
        ).rstrip("/"),
    )
    return AppSettings(
        environment=environment,
        database_url=env.get("DEALBOOKS_DATABASE_URL") or None,
        data_dir=Path(env.get("DEALBOOKS_DATA_DIR") or ".data"),
        bind_host=env.get("DEALBOOKS_BIND_HOST") or "127.0.0.1",
        grpc_port=_int(env, "DEALBOOKS_GRPC_PORT", 50051),
        http_port=http_port,
        public_url=_public_url(env, production, http_port),
        secret_key=secret_key,
        api_tokens=parse_api_tokens(tokens_raw),
        log_level=env.get("DEALBOOKS_LOG_LEVEL") or "INFO",
        log_format=log_format,
        cdc_interval_minutes=max(1, min(59, _int(env, "DEALBOOKS_CDC_INTERVAL_MINUTES", 5))),
        worker_concurrency=max(1, _int(env, "DEALBOOKS_WORKER_CONCURRENCY", 4)),
        drain_seconds=_seconds(env, "DEALBOOKS_DRAIN_SECONDS", 0.0),
        database_pool_size=_pool_size(env),
        purge_after=_purge_after(env),
        ui_sdk_path=Path(env.get("DEALBOOKS_UI_SDK_PATH") or DEFAULT_SDK_PATH),
        support_email=(env.get("DEALBOOKS_SUPPORT_EMAIL") or "").strip(),
        otlp_traces_endpoint=otlp_traces_endpoint(env),
        quickbooks=quickbooks,
        pipedrive=pipedrive,
    )
