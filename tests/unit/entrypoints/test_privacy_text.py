"""The privacy policy and install guide say what the uninstall does, with the configured delay."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from entrypoints.http.public_pages import PublicSite


async def no_status(request: web.Request, language: str) -> str:
    return ""


def page(site: PublicSite, name: str, language: str) -> str:
    return re.sub(r"\s+", " ", site.body(name, language))


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "deleted 7 days later"), ("fr", "supprimés 7 jours plus tard")],
)
def test_the_privacy_policy_states_the_configured_delay_before_a_purge(
    language: str, said: str
) -> None:
    site = PublicSite(no_status, purge_days=7)

    assert said in page(site, "privacy", language)
    assert "{purge_days}" not in page(site, "docs", language)
    assert "7" in page(site, "docs", language)


def test_the_privacy_policy_says_a_users_uninstall_deletes_only_their_tokens() -> None:
    english = page(PublicSite(no_status), "privacy", "en")

    assert "revokes that user's Pipedrive tokens and deletes them at once" in english
    assert "deleted 30 days later" in english
    assert "not deleted at uninstall" not in english
