"""Subscribing the Pipedrive webhooks HandleCrmChange needs, with the in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.crm import InMemoryCrmGateway
from adapters.in_memory.jobs import InMemoryJobQueue
from application.crm_events import (
    HANDLED_EVENTS,
    CheckAllCrmWebhooks,
    CrmWebhookTarget,
    SubscribeCrmWebhooks,
    WebhookReport,
)
from application.errors import UpstreamRejectedError, UpstreamUnavailableError
from application.ports.crm import CrmWebhook
from application.reasons import Reason
from domain.connection import Connection, OAuthTokens, Vendor

COMPANY = "13000001"
URL = "https://dealbooks.example/webhooks/pipedrive"
TARGET = CrmWebhookTarget(URL, "dealbooks", "s3cret-password")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def crm() -> InMemoryCrmGateway:
    return InMemoryCrmGateway()


@pytest.fixture
def subscribe(crm: InMemoryCrmGateway) -> SubscribeCrmWebhooks:
    return SubscribeCrmWebhooks(crm, TARGET)


def events(crm: InMemoryCrmGateway) -> list[tuple[str, str]]:
    return sorted((w.event_action, w.event_object) for w in crm.webhooks[COMPANY].values())


def ours(action: str, entity: str, **changes: object) -> CrmWebhook:
    webhook = CrmWebhook(action, entity, URL, TARGET.user, TARGET.password, "2.0")
    return replace(webhook, **changes)  # type: ignore[arg-type]


async def test_the_first_run_subscribes_each_handled_event_with_our_credentials(
    crm: InMemoryCrmGateway, subscribe: SubscribeCrmWebhooks
) -> None:
    report = await subscribe.execute(COMPANY)

    assert report == WebhookReport(created=5)
    assert events(crm) == sorted(HANDLED_EVENTS)
    assert HANDLED_EVENTS == (
        ("delete", "deal"),
        ("delete", "organization"),
        ("delete", "person"),
        ("change", "deal"),
        ("create", "deal"),
    )
    for webhook in crm.webhooks[COMPANY].values():
        assert (webhook.url, webhook.http_auth_user, webhook.http_auth_password) == (
            URL,
            "dealbooks",
            "s3cret-password",
        )
        assert webhook.version == "2.0"
        assert webhook.name == f"dealbooks: {webhook.event_action}.{webhook.event_object}"


async def test_running_again_creates_no_duplicates(
    crm: InMemoryCrmGateway, subscribe: SubscribeCrmWebhooks
) -> None:
    await subscribe.execute(COMPANY)
    before = dict(crm.webhooks[COMPANY])

    report = await subscribe.execute(COMPANY)

    assert report == WebhookReport(kept=5)
    assert crm.webhooks[COMPANY] == before


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        (HANDLED_EVENTS[:3], [("change", "deal"), ("create", "deal")]),
        (HANDLED_EVENTS[:4], [("create", "deal")]),
    ],
    ids=["before deal changes", "before deal creations"],
)
async def test_an_older_install_gets_only_the_new_subscriptions(
    crm: InMemoryCrmGateway,
    subscribe: SubscribeCrmWebhooks,
    existing: tuple[tuple[str, str], ...],
    new: list[tuple[str, str]],
) -> None:
    for action, entity in existing:
        await crm.add_webhook(COMPANY, ours(action, entity))
    before = dict(crm.webhooks[COMPANY])

    report = await subscribe.execute(COMPANY)
    again = await subscribe.execute(COMPANY)

    assert report == WebhookReport(created=len(new), kept=len(existing))
    assert again == WebhookReport(kept=5)
    added = {k: w for k, w in crm.webhooks[COMPANY].items() if k not in before}
    assert [(w.event_action, w.event_object) for w in added.values()] == new
    assert all(crm.webhooks[COMPANY][k] == w for k, w in before.items())


@pytest.mark.parametrize(
    "stale",
    [
        {"http_auth_password": "an-old-password"},
        {"http_auth_user": "someone-else"},
        {"version": "1.0"},
        {"active": False},
    ],
    ids=["old password", "other user", "webhooks v1", "deactivated"],
)
async def test_an_outdated_subscription_is_replaced_by_a_current_one(
    crm: InMemoryCrmGateway, subscribe: SubscribeCrmWebhooks, stale: dict[str, object]
) -> None:
    for action, entity in HANDLED_EVENTS[1:]:
        await crm.add_webhook(COMPANY, ours(action, entity))
    old = await crm.add_webhook(COMPANY, ours("delete", "deal"))
    crm.webhooks[COMPANY][old.id] = replace(old, **stale)  # type: ignore[arg-type]

    report = await subscribe.execute(COMPANY)

    assert report == WebhookReport(created=1, kept=4, removed=1)
    assert events(crm) == sorted(HANDLED_EVENTS)
    assert old.id not in crm.webhooks[COMPANY]


async def test_duplicates_are_removed_and_one_is_kept(
    crm: InMemoryCrmGateway, subscribe: SubscribeCrmWebhooks
) -> None:
    await subscribe.execute(COMPANY)
    await crm.add_webhook(COMPANY, ours("delete", "person"))

    report = await subscribe.execute(COMPANY)

    assert report == WebhookReport(kept=5, removed=1)
    assert events(crm) == sorted(HANDLED_EVENTS)


async def test_a_password_the_list_does_not_show_counts_as_current(
    crm: InMemoryCrmGateway, subscribe: SubscribeCrmWebhooks
) -> None:
    for action, entity in HANDLED_EVENTS:
        await crm.add_webhook(COMPANY, ours(action, entity, http_auth_password=None))

    report = await subscribe.execute(COMPANY)

    assert report == WebhookReport(kept=5)


async def test_subscriptions_to_other_urls_are_left_alone(
    crm: InMemoryCrmGateway, subscribe: SubscribeCrmWebhooks
) -> None:
    elsewhere = await crm.add_webhook(
        COMPANY, ours("delete", "deal", url="https://old-host.example/webhooks/pipedrive")
    )

    report = await subscribe.execute(COMPANY)

    assert report == WebhookReport(created=5)
    assert elsewhere.id in crm.webhooks[COMPANY]


async def test_pipedrive_being_unavailable_raises_so_that_the_job_retries(
    crm: InMemoryCrmGateway, subscribe: SubscribeCrmWebhooks
) -> None:
    crm.webhook_error = UpstreamUnavailableError("Pipedrive is down")

    with pytest.raises(UpstreamUnavailableError):
        await subscribe.execute(COMPANY)


async def test_a_refusal_is_reported_not_retried(
    crm: InMemoryCrmGateway, subscribe: SubscribeCrmWebhooks
) -> None:
    crm.webhook_error = UpstreamRejectedError(
        "invalid or non-reachable URL", reason=Reason.PIPEDRIVE_REJECTED
    )

    report = await subscribe.execute(COMPANY)

    assert report == WebhookReport(problem=Reason.PIPEDRIVE_REJECTED)


async def test_the_daily_check_queues_one_job_per_installed_company() -> None:
    tokens, jobs = InMemoryTokenStore(), InMemoryJobQueue()
    tokens_a = OAuthTokens("a", "r", NOW + timedelta(hours=1))
    for company, vendor in [
        ("1", Vendor.PIPEDRIVE),
        ("2", Vendor.PIPEDRIVE),
        ("3", Vendor.QUICKBOOKS),
    ]:
        await tokens.save(Connection(company, vendor, company, tokens_a))
    await tokens.mark_broken("2", Vendor.PIPEDRIVE, "refused", NOW)

    queued = await CheckAllCrmWebhooks(tokens, jobs).execute()
    await CheckAllCrmWebhooks(tokens, jobs).execute()

    assert queued == 1
    assert jobs.deferred == [("subscribe_crm_webhooks", {"company_id": "1"})]
