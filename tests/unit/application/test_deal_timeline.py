"""The deal's Pipedrive timeline follows the invoice: one note per milestone, in the company's
language, never twice, nothing lost when Pipedrive is down."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from application.auth import Principal
from application.commands import (
    DealTimelineInput,
    InvoiceActionCommand,
    SettingsInput,
    UpdateSettingsCommand,
)
from application.errors import UpstreamUnavailableError
from application.settings import UpdateSettings
from application.sync import ApplyAccountingChanges, SweepStuckCreations
from domain.errors import InvalidValueError
from domain.money import Money
from domain.settings import CompanySettings
from domain.timeline import Milestone, TimelineLanguage, TimelinePolicy
from tests.unit.application.invoicing_world import (
    COMPANY,
    World,
    create_command,
    invoice_ref,
)

ADMIN = Principal(subject="admin-1", companies=frozenset({COMPANY}), is_admin=True)


@pytest.fixture
def world() -> World:
    return World()


async def choose(world: World, milestones: list[str], language: str = "") -> None:
    await UpdateSettings(world.uow, world.clock).execute(
        UpdateSettingsCommand(
            ADMIN,
            COMPANY,
            SettingsInput(deal_timeline=DealTimelineInput(tuple(milestones), language)),
            update_mask=("deal_timeline",),
        )
    )


async def pay(world: World, quickbooks_id: str, amount: str) -> None:
    world.qbo.record_payment(quickbooks_id, Money.of(amount, "USD"))
    apply = ApplyAccountingChanges(
        world.uow, world.qbo, InMemoryTokenStore(), world.clock, jobs=world.jobs
    )
    await apply.apply(COMPANY, [quickbooks_id])


async def run_timeline_jobs(world: World) -> None:
    queued = [args for name, args in world.jobs.deferred if name == "update_deal_timeline"]
    world.jobs.deferred[:] = [d for d in world.jobs.deferred if d[0] != "update_deal_timeline"]
    for args in queued:
        await world.timeline.execute(args["company_id"], args["invoice_id"])


def texts(world: World) -> list[str]:
    return [text for _, _, text in world.crm.notes]


async def test_a_created_invoice_adds_one_created_note_with_its_quickbooks_link(
    world: World,
) -> None:
    view = await world.create.execute(create_command())

    assert len(texts(world)) == 1
    assert texts(world)[0].startswith(f"Invoice {view.doc_number} created in QuickBooks")
    assert view.quickbooks_url
    assert view.quickbooks_url in texts(world)[0]


async def test_a_payment_in_full_adds_one_paid_note_in_french_for_a_french_company(
    world: World,
) -> None:
    await choose(world, ["created", "paid", "voided"], "fr")
    view = await world.create.execute(create_command())
    qb_id = view.quickbooks_id or ""

    await pay(world, qb_id, "2109.78")
    await run_timeline_jobs(world)
    await pay(world, qb_id, "0")  # the same facts again (a replayed webhook)
    await run_timeline_jobs(world)

    paid = [t for t in texts(world) if "payée" in t]
    assert paid == [
        f"Facture {view.doc_number} payée en totalité (2109,78 USD).\n"
        f"Ouvrir dans QuickBooks : {view.quickbooks_url}"
    ]
    assert len(texts(world)) == 2  # created, paid


async def test_the_language_is_the_installing_users_when_the_company_chose_none(
    world: World,
) -> None:
    world.crm.users[COMPANY] = dataclasses.replace(world.crm.users[COMPANY], locale="fr_FR")

    await world.create.execute(create_command())

    assert texts(world)[0].startswith("Facture ")


async def test_a_partial_payment_adds_a_note_only_when_the_settings_ask_for_it(
    world: World,
) -> None:
    view = await world.create.execute(create_command())
    await pay(world, view.quickbooks_id or "", "100")
    await run_timeline_jobs(world)
    assert len(texts(world)) == 1  # created only: partial payments are off by default

    await choose(world, ["partially_paid", "paid"])
    await pay(world, view.quickbooks_id or "", "100")
    await run_timeline_jobs(world)

    assert texts(world)[1].startswith(
        f"Invoice {view.doc_number}: payment of 100.00 USD received; 1909.78 USD left to pay."
    )


async def test_voiding_adds_a_voided_note(world: World) -> None:
    view = await world.create.execute(create_command())

    await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))
    await run_timeline_jobs(world)

    assert texts(world)[-1].startswith(f"Invoice {view.doc_number} voided in QuickBooks.")
    assert len(texts(world)) == 2


async def test_a_note_whose_answer_was_lost_is_not_posted_again(world: World) -> None:
    view = await world.create.execute(create_command())
    world.crm.note_error = UpstreamUnavailableError("Pipedrive timed out")
    world.crm.lost_answer = True

    await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))
    with pytest.raises(UpstreamUnavailableError):
        await run_timeline_jobs(world)
    await world.timeline.execute(COMPANY, view.id)  # the job's retry

    assert sum("voided" in t for t in texts(world)) == 1


async def test_an_entry_waits_while_pipedrive_is_down_and_the_sweep_requeues_it(
    world: World,
) -> None:
    view = await world.create.execute(create_command())
    world.crm.note_error = UpstreamUnavailableError("Pipedrive is down")
    await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))
    with pytest.raises(UpstreamUnavailableError):
        await run_timeline_jobs(world)
    assert not any("voided" in t for t in texts(world))

    world.clock.advance(timedelta(minutes=2))
    assert await SweepStuckCreations(world.uow, world.jobs, world.clock).execute() == 1
    await run_timeline_jobs(world)

    assert sum("voided" in t for t in texts(world)) == 1


async def test_a_milestone_the_company_turned_off_adds_nothing(world: World) -> None:
    await choose(world, [])

    view = await world.create.execute(create_command())
    await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))
    await run_timeline_jobs(world)

    assert texts(world) == []


async def test_an_unknown_milestone_or_language_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        TimelinePolicy.of(["paid", "refunded"])
    with pytest.raises(InvalidValueError):
        TimelinePolicy.of(["paid"], "de")


def test_the_defaults_are_created_paid_and_voided_in_the_installers_language() -> None:
    policy = CompanySettings.default(COMPANY).timeline

    assert policy.milestones == {Milestone.CREATED, Milestone.PAID, Milestone.VOIDED}
    assert policy.language is TimelineLanguage.AUTO


# -- entries as done activities -------------------------------------------------------------


async def choose_activities(world: World, milestones: list[str]) -> None:
    await UpdateSettings(world.uow, world.clock).execute(
        UpdateSettingsCommand(
            ADMIN,
            COMPANY,
            SettingsInput(
                deal_timeline=DealTimelineInput(tuple(milestones), "", entry_kind="activity")
            ),
            update_mask=("deal_timeline",),
        )
    )


def activities(world: World) -> list[str]:
    return [text for _, _, text in world.crm.activities]


async def test_entries_are_done_activities_when_the_settings_say_so_once_per_milestone(
    world: World,
) -> None:
    await choose_activities(world, ["created", "paid"])
    view = await world.create.execute(create_command())
    qb_id = view.quickbooks_id or ""

    await pay(world, qb_id, "2109.78")
    await run_timeline_jobs(world)
    await pay(world, qb_id, "0")  # the same facts again (a replayed webhook)
    await run_timeline_jobs(world)

    assert texts(world) == []
    assert [a.split("\n")[0] for a in activities(world)] == [
        f"Invoice {view.doc_number} created in QuickBooks: 2109.78 USD.",
        f"Invoice {view.doc_number} paid in full (2109.78 USD).",
    ]


async def test_an_activity_whose_answer_was_lost_is_not_added_again(world: World) -> None:
    await choose_activities(world, ["created", "voided"])
    view = await world.create.execute(create_command())
    world.crm.note_error = UpstreamUnavailableError("Pipedrive timed out")
    world.crm.lost_answer = True

    await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))
    with pytest.raises(UpstreamUnavailableError):
        await run_timeline_jobs(world)
    await world.timeline.execute(COMPANY, view.id)  # the job's retry

    assert sum("voided" in t for t in activities(world)) == 1
    assert texts(world) == []


async def test_an_entry_keeps_the_kind_chosen_when_its_milestone_was_reached(
    world: World,
) -> None:
    await choose_activities(world, ["created", "voided"])
    view = await world.create.execute(create_command())
    world.crm.note_error = UpstreamUnavailableError("Pipedrive is down")
    await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))
    with pytest.raises(UpstreamUnavailableError):
        await run_timeline_jobs(world)

    await choose(world, ["created", "voided"])  # back to notes before the retry
    await world.timeline.execute(COMPANY, view.id)

    assert sum("voided" in t for t in activities(world)) == 1
    assert texts(world) == []


async def test_an_unknown_entry_kind_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        TimelinePolicy.of(["created"], "", "email")


async def test_an_invoice_gone_with_a_books_reset_is_deleted_and_its_deal_told(
    world: World,
) -> None:
    await choose(world, ["created", "deleted"])
    before = await world.create.execute(create_command())
    world.qbo.reset_books()

    after = await world.queued_create.execute(create_command(request_id="after-reset"))
    await run_timeline_jobs(world)

    assert after.quickbooks_id == before.quickbooks_id
    former = await world.get.execute(invoice_ref(before.id))
    assert former.state.value == "deleted"
    assert former.other_quickbooks_company
    deleted = [t for t in texts(world) if "deleted" in t]
    assert deleted == [f"Invoice {before.doc_number} deleted from QuickBooks."]  # no link
    # The id is the new invoice's now: a payment on it is the new invoice's.
    await pay(world, after.quickbooks_id or "", "100")
    paid = await world.get.execute(invoice_ref(after.id))
    assert paid.state.value == "partially_paid"
