"""Intuit's OpenID discovery document, read once at start (reference §2.1, §12 F9;
marketplaces.md §2 "Discovery document used?"): the OAuth endpoints come from it, against the
QuickBooks emulator, which serves its own; the known endpoints only when it cannot be read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from structlog.testing import capture_logs

from adapters.quickbooks.oauth import (
    DiscoveryError,
    QuickBooksEndpoints,
    QuickBooksOAuth,
    discover_endpoints,
    endpoints_from_discovery,
)
from tests.integration.quickbooks.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    RunningEmulator,
    running_emulator,
)

pytestmark = pytest.mark.integration
NOWHERE = "http://127.0.0.1:9/not-an-endpoint"


@pytest.fixture
async def emulator() -> Any:
    async with running_emulator() as running:
        yield running


def known_but_stale(emulator: RunningEmulator, environment: str = "sandbox") -> QuickBooksEndpoints:
    """The endpoints we know, made wrong on purpose: only the document can make them right."""
    known = QuickBooksEndpoints.for_environment(environment, emulator.base_url)
    return replace(known, authorize_url=NOWHERE, token_url=NOWHERE, revoke_url=NOWHERE)


async def test_the_oauth_endpoints_come_from_the_emulators_discovery_document(
    emulator: RunningEmulator,
) -> None:
    known = known_but_stale(emulator)

    with capture_logs() as logs:
        endpoints = await discover_endpoints(emulator.session, known)

    base = emulator.base_url
    assert endpoints.discovered
    assert (
        endpoints.authorize_url,
        endpoints.token_url,
        endpoints.revoke_url,
        endpoints.userinfo_url,
    ) == (
        base + "/connect/oauth2",
        base + "/oauth2/v1/tokens/bearer",
        base + "/v2/oauth2/tokens/revoke",
        base + "/v1/openid_connect/userinfo",
    )
    assert (endpoints.api_base, endpoints.app_base) == (known.api_base, known.app_base)
    assert [r["path"] for r in emulator.requests(".well-known")] == [
        "/.well-known/openid_sandbox_configuration"
    ]
    assert not [entry for entry in logs if entry["event"] == "quickbooks.discovery_failed"]
    # They work: a token revoked through the discovered endpoint is refused afterwards.
    minted = await emulator.mint()
    await QuickBooksOAuth(emulator.session, endpoints, CLIENT_ID, CLIENT_SECRET).revoke(
        minted["refresh_token"]
    )
    assert emulator.requests("/v2/oauth2/tokens/revoke", "POST")


async def test_production_reads_the_production_document(emulator: RunningEmulator) -> None:
    endpoints = await discover_endpoints(emulator.session, known_but_stale(emulator, "production"))

    assert endpoints.discovered
    assert [r["path"] for r in emulator.requests(".well-known")] == [
        "/.well-known/openid_configuration"
    ]


def test_intuits_own_documents_are_the_ones_read_without_an_emulator() -> None:
    sandbox = QuickBooksEndpoints.for_environment("sandbox")
    production = QuickBooksEndpoints.for_environment("production")

    assert sandbox.discovery_url == (
        "https://developer.api.intuit.com/.well-known/openid_sandbox_configuration"
    )
    assert production.discovery_url == (
        "https://developer.api.intuit.com/.well-known/openid_configuration"
    )
    assert not sandbox.discovered


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503},
        {"status": 200, "body": "<html>maintenance</html>"},
        {"status": 200, "body": {"issuer": "x", "authorization_endpoint": "https://a.example"}},
        {"timeout": True, "hang_seconds": 0.2},
    ],
    ids=["5xx", "not-json", "no-token-endpoint", "dropped"],
)
async def test_a_document_that_cannot_be_read_leaves_the_known_endpoints_and_says_so(
    emulator: RunningEmulator, fault: dict[str, Any]
) -> None:
    await emulator.fault(path="well-known", **fault)
    known = QuickBooksEndpoints.for_environment("sandbox", emulator.base_url)

    with capture_logs() as logs:
        endpoints = await discover_endpoints(emulator.session, known)

    assert endpoints == known
    assert not endpoints.discovered
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("quickbooks.discovery_failed", "warning")
    ]


async def test_an_unreachable_document_leaves_the_known_endpoints(
    emulator: RunningEmulator,
) -> None:
    known = replace(
        QuickBooksEndpoints.for_environment("sandbox"), discovery_url=NOWHERE + "/.well-known"
    )

    with capture_logs() as logs:
        assert await discover_endpoints(emulator.session, known) == known

    assert logs[0]["event"] == "quickbooks.discovery_failed"


def test_intuits_document_may_not_send_the_tokens_over_plain_http() -> None:
    known = QuickBooksEndpoints.for_environment("production")
    document = {
        "authorization_endpoint": "https://appcenter.intuit.com/connect/oauth2",
        "token_endpoint": "http://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        "revocation_endpoint": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    }

    with pytest.raises(DiscoveryError, match="token_endpoint"):
        endpoints_from_discovery(known, document)

    document["token_endpoint"] = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    endpoints = endpoints_from_discovery(known, document)
    assert endpoints.token_url == document["token_endpoint"]
    assert endpoints.userinfo_url == known.userinfo_url  # not in this document: the known one
