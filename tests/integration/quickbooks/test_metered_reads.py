"""The service counts its metered QuickBooks reads (CorePlus) by kind at the one place every
call passes, and its count agrees with what the emulator's meter billed."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.jobs import InMemoryJobQueue
from adapters.in_memory.notices import InMemoryNoticeInbox, InMemoryNoticeStore
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from adapters.system_clock import FrozenClock
from application.ports.sync import ChangeNotice
from emulators.quickbooks.seed import put
from entrypoints.metrics import Metrics
from tests.integration.quickbooks.harness import (
    CLIENT_ID,
    US_REALM,
    RunningEmulator,
    connect,
    invoice,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
COMPANY = "4001"


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with running_emulator() as running:
        yield running


async def wired(emulator: RunningEmulator) -> tuple[QuickBooksAccountingGateway, Metrics]:
    store = InMemoryTokenStore()
    await connect(emulator, store, COMPANY, US_REALM)
    metrics = Metrics()
    gateway = make_gateway(emulator, store, count_metered_read=metrics.count_quickbooks_read)
    return gateway, metrics


def counted(metrics: Metrics) -> dict[str, float]:
    return {
        sample.labels["kind"]: sample.value
        for metric in metrics.registry.collect()
        if metric.name == "dealbooks_quickbooks_metered_reads"
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.value
    }


async def billed(emulator: RunningEmulator) -> dict[str, int]:
    report = await emulator.admin("GET", f"meter?realm={US_REALM}")
    (app,) = report["apps"]
    assert app["client_id"] == CLIENT_ID
    (realm,) = app["realms"]
    return {
        kind: entry["calls"]
        for kind, entry in realm["kinds"].items()
        if entry["tier"] == "coreplus"
    }


async def test_each_metered_read_is_counted_by_kind_as_the_emulator_bills_it(
    emulator: RunningEmulator,
) -> None:
    gateway, metrics = await wired(emulator)
    first, second = invoice("1", company=COMPANY), invoice("1", company=COMPANY)
    await gateway.create_invoice(COMPANY, first, request_id=f"inv-{first.id}")
    before = counted(metrics)  # the form's reference data, read once and kept
    created = await gateway.create_invoice(COMPANY, second, request_id=f"inv-{second.id}")
    assert counted(metrics) == before  # a write is Core: not metered

    await gateway.get_invoice(COMPANY, created.id)
    await gateway.get_invoices(COMPANY, [created.id])
    await gateway.changes_since(COMPANY, datetime.now(UTC) - timedelta(hours=1))
    await gateway.invoice_pdf(COMPANY, created.id)
    await gateway.invoice_options(COMPANY)

    kinds = counted(metrics)
    assert kinds["read:Invoice"] == 1
    assert kinds["query:Invoice"] == 1
    assert kinds["cdc"] == 1
    assert kinds["pdf:Invoice"] == 1
    assert kinds["read:Preferences"] == before["read:Preferences"]  # kept: no second read
    assert {k for k in kinds if k.startswith("query:")} >= {"query:Item", "query:Term"}
    assert kinds == await billed(emulator)


async def test_a_refused_read_is_not_counted_and_a_retried_one_counts_each_try(
    emulator: RunningEmulator,
) -> None:
    gateway, metrics = await wired(emulator)
    await emulator.fault(path="/invoice/", status=429, count=1)  # throttled, then served
    await gateway.get_invoice(COMPANY, "1")
    await emulator.fault(path="/invoice/", status=503, count=1)  # failed, then served
    await gateway.get_invoice(COMPANY, "1")
    assert counted(metrics) == {"read:Invoice": 2}
    assert counted(metrics) == await billed(emulator)


async def test_each_metered_read_is_logged_with_its_company(emulator: RunningEmulator) -> None:
    gateway, _ = await wired(emulator)
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as logs:
            await gateway.get_invoice(COMPANY, "1")
    finally:
        structlog.configure(**saved)
    reads = [entry for entry in logs if entry["event"] == "quickbooks.read_metered"]
    assert reads == [
        {"event": "quickbooks.read_metered", "log_level": "info", "company_id": COMPANY,
         "kind": "read:Invoice"}
    ]  # fmt: skip


async def test_the_companys_today_costs_no_read_once_its_time_zone_is_kept(
    emulator: RunningEmulator,
) -> None:
    """The overdue job and every list asked QuickBooks' options (6 reads) for the company's time
    zone once the 5-minute cache had expired: 4,320 reads a month from the hourly job alone. The
    connect keeps the zone; a connection from before that still reads it with the options."""
    store = InMemoryTokenStore()
    connection = await connect(emulator, store, COMPANY, US_REALM)
    metrics = Metrics()
    gateway = make_gateway(emulator, store, count_metered_read=metrics.count_quickbooks_read)
    assert await gateway.time_zone(COMPANY) == "America/Los_Angeles"  # read with the options
    assert counted(metrics).get("read:CompanyInfo") == 1

    await store.save(dataclasses.replace(connection, time_zone="Europe/Paris"))
    fresh = make_gateway(emulator, store, count_metered_read=metrics.count_quickbooks_read)
    before = counted(metrics)
    assert await fresh.time_zone(COMPANY) == "Europe/Paris"
    assert counted(metrics) == before


async def test_the_forms_reference_data_is_kept_until_a_notice_says_it_changed(
    emulator: RunningEmulator,
) -> None:
    """Read every 5 minutes it was used, the form's reference data cost 312 reads a month at
    the typical load. Now it is kept until QuickBooks says an item, term or preference changed,
    and at most a day (tax codes and rates have neither webhooks nor CDC)."""
    store, notices = InMemoryTokenStore(), InMemoryNoticeStore()
    await connect(emulator, store, COMPANY, US_REALM)
    metrics = Metrics()
    clock = FrozenClock(datetime.now(UTC))
    gateway = make_gateway(
        emulator, store, count_metered_read=metrics.count_quickbooks_read, notices=notices,
        clock=clock,
    )  # fmt: skip
    await gateway.invoice_options(COMPANY)
    loads = counted(metrics)["read:Preferences"]
    clock.advance(timedelta(hours=23))
    options = await gateway.invoice_options(COMPANY)
    assert counted(metrics)["read:Preferences"] == loads  # nothing said it changed
    assert "Onboarding day" not in {item.name for item in options.items}

    created = await gateway.client.post(
        COMPANY,
        "item",
        {"Name": "Onboarding day", "Type": "Service", "IncomeAccountRef": {"value": "1"}},
        request_id="item-onboarding",
    )
    assert "Onboarding day" not in {i.name for i in (await gateway.invoice_options(COMPANY)).items}
    # The webhook about it, as the gateway's inbox stores it (a notice about an invoice or a
    # payment changes nothing here).
    other = ChangeNotice("n1", US_REALM, "Invoice", "1", "Update")
    await InMemoryNoticeInbox(notices, InMemoryJobQueue()).accept([other], clock.now())
    await gateway.invoice_options(COMPANY)
    assert counted(metrics)["read:Preferences"] == loads
    notice = ChangeNotice("n2", US_REALM, "Item", created["Item"]["Id"], "Create")
    await InMemoryNoticeInbox(notices, InMemoryJobQueue()).accept([notice], clock.now())
    options = await gateway.invoice_options(COMPANY)
    assert "Onboarding day" in {item.name for item in options.items}
    assert counted(metrics)["read:Preferences"] == loads + 1

    clock.advance(timedelta(hours=24))  # the daily safety net: tax codes and rates
    await gateway.invoice_options(COMPANY)
    assert counted(metrics)["read:Preferences"] == loads + 2
    assert counted(metrics) == await billed(emulator)


async def test_a_catalog_of_more_than_a_thousand_items_is_read_whole(
    emulator: RunningEmulator,
) -> None:
    """A query returns 1,000 rows at most: the 1,001st product onwards was not offered, and a
    deal product of that name went to the default item instead. Now the items come a page of
    1,000 at a time, one metered read each."""
    company = emulator.emulator.store.company(US_REALM)
    assert company is not None
    now = datetime.now(UTC)
    first = len(company.table("Item"))
    for number in range(2345 - first):
        item = {"Name": f"Part {number:04}", "Type": "Service", "UnitPrice": 1, "Active": True}
        put(company, "Item", str(1000 + number), item, now)
    gateway, metrics = await wired(emulator)

    options = await gateway.invoice_options(COMPANY)

    assert len(options.items) == 2345
    assert "Part 2000" in {item.name for item in options.items}
    assert counted(metrics)["query:Item"] == 3
    assert counted(metrics) == await billed(emulator)


async def test_categories_and_bundles_are_read_as_items_no_line_can_use(
    emulator: RunningEmulator,
) -> None:
    """A category only files products, and a bundle needs lines of its own: neither can be an
    invoice line's item. They are read with their type, so that the form leaves them out and
    a deal product named like one is told apart from one that matches nothing."""
    company = emulator.emulator.store.company(US_REALM)
    assert company is not None
    now = datetime.now(UTC)
    put(company, "Item", "901", {"Name": "Hardware", "Type": "Category", "Active": True}, now)
    put(company, "Item", "902", {"Name": "Starter kit", "Type": "Group", "Active": True}, now)
    gateway, _ = await wired(emulator)

    items = {item.name: item for item in (await gateway.invoice_options(COMPANY)).items}

    assert (items["Hardware"].sold, items["Starter kit"].sold) == (False, False)
    assert items["Hardware"].type == "Category"
    assert all(item.sold for name, item in items.items() if name not in ("Hardware", "Starter kit"))
