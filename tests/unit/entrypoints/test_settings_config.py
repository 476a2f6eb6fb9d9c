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


def test_a_companys_data_is_kept_30_days_after_its_last_uninstall_unless_configured() -> None:
    assert load_settings({}).purge_after == timedelta(days=30)
    assert load_settings({"DEALBOOKS_PURGE_AFTER_DAYS": "7"}).purge_after == timedelta(days=7)
    assert load_settings({"DEALBOOKS_PURGE_AFTER_DAYS": "0"}).purge_after == timedelta(0)


@pytest.mark.parametrize("raw", ["thirty", "-1", "366", "1.5"])
def test_a_purge_delay_that_is_not_a_number_of_days_is_named(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="DEALBOOKS_PURGE_AFTER_DAYS"):
        load_settings({"DEALBOOKS_PURGE_AFTER_DAYS": raw})
