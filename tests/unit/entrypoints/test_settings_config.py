"""Configuration from the environment: defaults, token parsing, fail-fast in production."""

from __future__ import annotations

from datetime import timedelta

import pytest

from entrypoints.settings import ConfigurationError, load_settings, parse_api_tokens


def test_development_runs_with_no_configuration_at_all() -> None:
    settings = load_settings({})
    assert settings.grpc_port == 50051
    assert settings.http_port == 8080
    assert settings.database_url is None
    assert len(settings.api_tokens) == 1


def test_tokens_are_limited_to_their_companies() -> None:
    tokens = parse_api_tokens("aaaaaaaaaaaaaaaa=1,2; bbbbbbbbbbbbbbbb=*")
    assert tokens["aaaaaaaaaaaaaaaa"].companies == frozenset({"1", "2"})
    assert tokens["aaaaaaaaaaaaaaaa"].can_access("2")
    assert not tokens["aaaaaaaaaaaaaaaa"].can_access("3")
    assert tokens["bbbbbbbbbbbbbbbb"].can_access("anything")


@pytest.mark.parametrize("raw", ["short=1", "no-equals-sign-here", "aaaaaaaaaaaaaaaa="])
def test_malformed_token_entries_are_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="DEALBOOKS_API_TOKENS"):
        parse_api_tokens(raw)


@pytest.mark.parametrize("missing", ["DEALBOOKS_SECRET_KEY", "DEALBOOKS_API_TOKENS"])
def test_production_fails_at_start_naming_the_missing_secret(missing: str) -> None:
    env = {
        "DEALBOOKS_ENV": "production",
        "DEALBOOKS_SECRET_KEY": "k" * 40,
        "DEALBOOKS_API_TOKENS": "aaaaaaaaaaaaaaaa=*",
    }
    del env[missing]
    with pytest.raises(ConfigurationError, match=missing):
        load_settings(env)


def test_a_port_that_is_not_a_number_is_named() -> None:
    with pytest.raises(ConfigurationError, match="DEALBOOKS_GRPC_PORT"):
        load_settings({"DEALBOOKS_GRPC_PORT": "fifty"})


def test_the_quickbooks_read_quota_and_its_reserve() -> None:
    assert (load_settings({}).quickbooks.read_quota, load_settings({}).quickbooks.read_reserve) == (
        500_000,
        0.1,
    )
    tier = load_settings(
        {"DEALBOOKS_QUICKBOOKS_READ_QUOTA": "0", "DEALBOOKS_QUICKBOOKS_READ_RESERVE": "0.25"}
    ).quickbooks
    assert (tier.read_quota, tier.read_reserve) == (0, 0.25)
    for wrong in (
        {"DEALBOOKS_QUICKBOOKS_READ_QUOTA": "lots"},
        {"DEALBOOKS_QUICKBOOKS_READ_RESERVE": "1"},
    ):
        with pytest.raises(ConfigurationError, match="DEALBOOKS_QUICKBOOKS_READ_RESERVE"):
            load_settings(wrong)


PRODUCTION = {
    "DEALBOOKS_ENV": "production",
    "DEALBOOKS_SECRET_KEY": "k" * 40,
    "DEALBOOKS_API_TOKENS": "aaaaaaaaaaaaaaaa=*",
    "DEALBOOKS_QUICKBOOKS_CLIENT_ID": "qb-id",
    "DEALBOOKS_QUICKBOOKS_CLIENT_SECRET": "qb-secret",
    "DEALBOOKS_QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN": "verifier",
    "DEALBOOKS_PIPEDRIVE_CLIENT_ID": "pd-id",
    "DEALBOOKS_PIPEDRIVE_CLIENT_SECRET": "pd-secret",
    "DEALBOOKS_PIPEDRIVE_JWT_SECRET": "jwt-secret",
    "DEALBOOKS_PIPEDRIVE_WEBHOOK_PASSWORD": "hook-password",
    "DEALBOOKS_PUBLIC_URL": "https://dealbooks.example.com/",
}


def test_production_runs_on_an_https_public_url() -> None:
    assert load_settings(PRODUCTION).public_url == "https://dealbooks.example.com"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://dealbooks.example.com",  # Intuit refuses plain HTTP redirect URIs
        "https://203.0.113.7",  # ... and IP addresses
        "https://[2001:db8::1]:8443",
        "https://localhost:8080",
    ],
)
def test_production_refuses_a_public_url_vendors_would_refuse(url: str) -> None:
    with pytest.raises(ConfigurationError, match="DEALBOOKS_PUBLIC_URL"):
        load_settings({**PRODUCTION, "DEALBOOKS_PUBLIC_URL": url})


def test_development_keeps_a_local_http_public_url() -> None:
    settings = load_settings({"DEALBOOKS_PUBLIC_URL": "http://127.0.0.1:9000/"})
    assert settings.public_url == "http://127.0.0.1:9000"


def test_a_companys_data_is_kept_30_days_after_its_last_uninstall_unless_configured() -> None:
    assert load_settings({}).purge_after == timedelta(days=30)
    assert load_settings({"DEALBOOKS_PURGE_AFTER_DAYS": "7"}).purge_after == timedelta(days=7)
    assert load_settings({"DEALBOOKS_PURGE_AFTER_DAYS": "0"}).purge_after == timedelta(0)


@pytest.mark.parametrize("raw", ["thirty", "-1", "366", "1.5"])
def test_a_purge_delay_that_is_not_a_number_of_days_is_named(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="DEALBOOKS_PURGE_AFTER_DAYS"):
        load_settings({"DEALBOOKS_PURGE_AFTER_DAYS": raw})


def test_pool_size_and_drain_delay_default_and_read_from_the_environment() -> None:
    assert (load_settings({}).database_pool_size, load_settings({}).drain_seconds) == (10, 0.0)
    settings = load_settings(
        {"DEALBOOKS_DATABASE_POOL_SIZE": "4", "DEALBOOKS_DRAIN_SECONDS": "7.5"}
    )
    assert (settings.database_pool_size, settings.drain_seconds) == (4, 7.5)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("DEALBOOKS_DATABASE_POOL_SIZE", "0"),
        ("DEALBOOKS_DATABASE_POOL_SIZE", "101"),
        ("DEALBOOKS_DATABASE_POOL_SIZE", "ten"),
        ("DEALBOOKS_DRAIN_SECONDS", "-1"),
        ("DEALBOOKS_DRAIN_SECONDS", "soon"),
    ],
)
def test_a_pool_size_or_drain_delay_out_of_range_is_named(name: str, raw: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        load_settings({name: raw})
