"""Invoicing use cases wired with the in-memory fakes and a frozen clock."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from application.commands import (
    InvoiceActionCommand,
    LineInput,
    ListPageCommand,
    SendInvoiceCommand,
)
from application.errors import (
    PermissionDeniedError,
    RequestIdReusedError,
    UpstreamRejectedError,
    UpstreamUnavailableError,
)
from application.ports.crm import DealFieldKeys
from application.reasons import MetadataKey, Reason
from application.sync import SweepStuckCreations
from domain.errors import InvalidStateTransitionError, InvalidValueError
from domain.field_mapping import SourceEntity
from domain.invoice import InvoiceState, InvoiceStatus
from domain.messages import MessageCode
from domain.money import Money
from tests.unit.application.invoicing_world import (
    COMPANY,
    OTHER,
    USER,
    World,
    a_deal,
    create_command,
    deal_ref,
    invoice_ref,
)


@pytest.fixture
def world() -> World:
    return World()


async def test_the_draft_is_prefilled_from_the_deal_and_the_mapping(world: World) -> None:
    draft = await world.prepare.execute(deal_ref())

    assert draft.customer.display_name == "Acme Corp"
    assert draft.customer.email == "ana@acme.test"
    assert draft.customer.billing_address is not None
    assert draft.customer.billing_address.city == "Springfield"
    assert draft.currency == "USD"
    assert draft.issue_date == date(2026, 3, 13)
    assert draft.due_date == date(2026, 3, 20)  # the reference's "7 days" example
    assert [line.name for line in draft.lines] == ["Services", "Design", ""]
    assert draft.lines[0].total("USD") == Money.of("109.78", "USD")
    assert draft.lines[0].item_ref == "1"  # matched by name
    assert draft.lines[2].is_discount
    # 109.78 + 2000 - 50 discount: "Design" has 10 % tax in the deal, but this US company has
    # no sales tax set up in QuickBooks, which charges none; the draft says so.
    assert draft.totals.total == Money.of("2059.78", "USD")
    # "Design" matches no QuickBooks item and no default item is set: say so before Create.
    assert [(w.code, w.field) for w in draft.warnings] == [
        (MessageCode.NO_MATCHING_ITEM, "lines[1].item_id"),
        (MessageCode.NO_SALES_TAX_IN_QUICKBOOKS, "lines[1].tax_rate"),
    ]


async def test_the_draft_warns_about_what_quickbooks_will_refuse(world: World) -> None:
    world.crm.add_deal(COMPANY, replace(a_deal("43", email=None), currency="EUR"))

    draft = await world.prepare.execute(deal_ref(deal_id="43"))

    codes = {w.code for w in draft.warnings}
    assert MessageCode.CURRENCY_NOT_ENABLED in codes
    assert MessageCode.NO_EMAIL in codes


async def test_the_draft_suggests_quickbooks_customers_by_name(world: World) -> None:
    await world.create.execute(create_command())

    draft = await world.prepare.execute(deal_ref())

    assert draft.linked_customer is not None  # the first invoice linked the organization
    assert draft.linked_customer.customer.display_name == "Acme Corp"


async def test_creating_an_invoice_opens_it_in_quickbooks(world: World) -> None:
    view = await world.create.execute(create_command())

    assert view.state is InvoiceState.OPEN
    assert view.quickbooks_id in world.qbo.invoices
    assert view.doc_number
    assert view.totals.total == Money.of("2109.78", "USD")
    assert not view.totals_mismatch
    assert view.due_date == date(2026, 3, 20)
    assert view.quickbooks_url
    assert view.quickbooks_id in view.quickbooks_url
    assert len(world.crm.notes) == 1
    assert view.doc_number in world.crm.notes[0][2]


async def test_creating_remembers_the_customer_link_for_the_organization(world: World) -> None:
    view = await world.create.execute(create_command())

    async with world.uow() as uow:
        link = await uow.customer_links.get(COMPANY, SourceEntity.ORGANIZATION, "5")
    assert link is not None
    assert link.quickbooks_customer_id == view.customer.quickbooks_id


async def test_a_linked_customer_made_inactive_in_quickbooks_is_said_in_the_draft(
    world: World,
) -> None:
    """QuickBooks invoices no inactive customer (610): said before Create, not after."""
    first = await world.create.execute(create_command())  # links the organization
    customer_id = first.customer.quickbooks_id or ""
    world.qbo.customers[customer_id] = dataclasses.replace(
        world.qbo.customers[customer_id], active=False
    )

    draft = await world.prepare.execute(deal_ref())

    said = [(w.code, w.field, dict(w.params)) for w in draft.warnings]
    assert (
        MessageCode.LINKED_CUSTOMER_INACTIVE,
        "customer.quickbooks_customer_id",
        {"name": "Acme Corp"},
    ) in said


async def test_the_same_request_id_returns_the_first_invoice(world: World) -> None:
    first = await world.create.execute(create_command("req-7"))
    second = await world.create.execute(create_command("req-7"))

    assert second.id == first.id
    assert len(world.qbo.invoices) == 1


async def test_a_double_click_sends_the_same_request_id_twice_at_once_and_both_get_the_invoice(
    world: World,
) -> None:
    first, second = await asyncio.gather(
        world.create.execute(create_command("req-8")),
        world.create.execute(create_command("req-8")),
    )

    assert second.id == first.id
    assert len(world.qbo.invoices) == 1


async def test_the_same_request_id_with_another_payload_is_refused(world: World) -> None:
    await world.create.execute(create_command("req-7"))

    with pytest.raises(RequestIdReusedError):
        await world.create.execute(create_command("req-7", memo="different"))
    assert len(world.qbo.invoices) == 1


async def test_a_retry_the_next_day_gets_the_first_invoice_though_its_dates_now_clash(
    world: World,
) -> None:
    """Without an issue date the invoice is issued "today"; due today was fine yesterday."""
    first = await world.create.execute(create_command("req-7", due_date="2026-03-13"))
    world.clock.advance(timedelta(days=1))

    with pytest.raises(InvalidValueError):  # as a new request it is refused...
        await world.create.execute(create_command("req-8", due_date="2026-03-13"))
    again = await world.create.execute(create_command("req-7", due_date="2026-03-13"))

    assert again.id == first.id  # ...as a retry it answers what it did
    assert len(world.qbo.invoices) == 1


async def test_the_same_request_id_with_another_invalid_payload_is_refused_as_reused(
    world: World,
) -> None:
    await world.create.execute(create_command("req-7"))

    with pytest.raises(RequestIdReusedError):
        await world.create.execute(create_command("req-7", lines=()))
    assert len(world.qbo.invoices) == 1


async def test_an_outage_leaves_the_invoice_creating_and_a_retry_finishes_it(
    world: World,
) -> None:
    world.qbo.unavailable(times=3)  # the options read, the customer write, and more

    first = await world.create.execute(create_command("req-9"))
    assert first.state is InvoiceState.CREATING
    assert first.status is InvoiceStatus.CREATING

    retried = await world.create.execute(create_command("req-9"))
    assert retried.state is InvoiceState.OPEN
    assert retried.id == first.id
    assert len(world.qbo.invoices) == 1


async def test_a_create_its_caller_gives_up_on_leaves_the_invoice_to_a_job(world: World) -> None:
    in_quickbooks = asyncio.Event()

    async def slow_quickbooks(*args: object, **kwargs: object) -> None:
        in_quickbooks.set()
        await asyncio.Event().wait()  # QuickBooks takes longer than the caller waits

    world.qbo.create_invoice = slow_quickbooks  # type: ignore[method-assign,assignment]
    call = asyncio.create_task(world.queued_create.execute(create_command("req-11")))
    await in_quickbooks.wait()
    call.cancel()  # the client's deadline, or the server's shutdown grace, ran out
    with pytest.raises(asyncio.CancelledError):
        await call

    async with world.uow() as uow:
        record = await uow.idempotency.get(COMPANY, "req-11")
    assert record is not None
    assert world.jobs.deferred == [
        ("finish_creation", {"company_id": COMPANY, "invoice_id": record.resource_id})
    ]


async def test_a_rejection_fails_the_creation_with_the_reason(world: World) -> None:
    world.qbo.fail_on(
        "create_invoice", UpstreamRejectedError("The customer is inactive in QuickBooks.")
    )

    view = await world.create.execute(create_command())

    assert view.state is InvoiceState.CREATE_FAILED
    assert view.failure_reason == "The customer is inactive in QuickBooks."


async def test_a_rejection_keeps_its_reason_and_metadata_for_the_ui_to_translate(
    world: World,
) -> None:
    world.qbo.fail_on(
        "create_invoice",
        UpstreamRejectedError(
            "QuickBooks already has an invoice with this number; choose another number.",
            reason=Reason.QUICKBOOKS_REJECTED,
            metadata={MetadataKey.VENDOR_CODE: "6140", MetadataKey.INTUIT_TID: "1-tid"},
        ),
    )

    view = await world.create.execute(create_command())

    assert view.state is InvoiceState.CREATE_FAILED
    assert view.failure_code == Reason.QUICKBOOKS_REJECTED
    assert view.failure_params == {MetadataKey.VENDOR_CODE: "6140", MetadataKey.INTUIT_TID: "1-tid"}


async def test_invalid_lines_are_reported_by_field_and_nothing_is_stored(world: World) -> None:
    bad = (LineInput(name="x", quantity="-1", unit_price="abc"),)

    with pytest.raises(InvalidValueError) as caught:
        await world.create.execute(create_command(lines=bad))

    fields = {v.field for v in caught.value.violations}
    assert {"invoice.lines[0].quantity", "invoice.lines[0].unit_price"} <= fields
    page = await world.list.execute(ListPageCommand(deal_ref()))
    assert page.items == []
    assert world.qbo.invoices == {}


async def test_an_invoice_with_no_lines_is_refused(world: World) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await world.create.execute(create_command(lines=()))
    assert any(v.field.startswith("invoice.lines") for v in caught.value.violations)


async def test_a_currency_the_company_cannot_invoice_in_is_refused_before_quickbooks(
    world: World,
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await world.create.execute(create_command(currency="EUR"))
    assert caught.value.violations[0].field == "invoice.currency"
    assert "create_invoice" not in world.qbo.calls


async def test_payments_move_the_invoice_to_partially_paid_then_paid(world: World) -> None:
    view = await world.create.execute(create_command())
    qb_id = view.quickbooks_id
    assert qb_id is not None

    world.qbo.record_payment(qb_id, Money.of("100", "USD"))
    page = await world.refresh.execute(deal_ref())
    assert page.items[0].state is InvoiceState.PARTIALLY_PAID
    assert page.items[0].totals.amount_paid == Money.of("100", "USD")

    world.qbo.record_payment(qb_id, Money.of("2009.78", "USD"))
    page = await world.refresh.execute(deal_ref())
    assert page.items[0].state is InvoiceState.PAID
    assert page.items[0].totals.balance.is_zero()


async def test_terms_class_and_location_changed_in_quickbooks_show_after_a_sync(
    world: World,
) -> None:
    view = await world.create.execute(create_command())
    qb_id = view.quickbooks_id
    assert qb_id is not None
    recorded = world.qbo.invoices[qb_id]
    # Someone edits the invoice in QuickBooks: Net 60 instead, a class, a location.
    world.qbo.invoices[qb_id] = replace(
        recorded,
        sync_token="1",
        due_date=view.issue_date + timedelta(days=60),
        terms_id="4",
        terms_name="Net 60",
        class_name="Landscaping:Design",
        location_name="Oakland",
    )

    shown = (await world.refresh.execute(deal_ref())).items[0]
    assert (shown.terms_id, shown.terms_name) == ("4", "Net 60")
    assert shown.due_date == view.issue_date + timedelta(days=60)
    assert (shown.class_name, shown.location_name) == ("Landscaping:Design", "Oakland")

    # Answered by id alone, a term, a class or a location has no name to show: a class or a
    # location stays as it was, and so does a term with the same id ...
    world.qbo.invoices[qb_id] = replace(
        world.qbo.invoices[qb_id],
        sync_token="2",
        terms_name=None,
        class_name=None,
        location_name=None,
        unnamed=frozenset({"terms", "class", "location"}),
    )
    shown = (await world.refresh.execute(deal_ref())).items[0]
    assert (shown.terms_id, shown.terms_name) == ("4", "Net 60")
    assert (shown.class_name, shown.location_name) == ("Landscaping:Design", "Oakland")
    # ... while a term changed to another one is no longer shown as the one it was.
    world.qbo.invoices[qb_id] = replace(world.qbo.invoices[qb_id], sync_token="3", terms_id="2")
    shown = (await world.refresh.execute(deal_ref())).items[0]
    assert (shown.terms_id, shown.terms_name) == ("2", None)

    # Taken off in QuickBooks: none shown.
    world.qbo.invoices[qb_id] = replace(
        world.qbo.invoices[qb_id],
        sync_token="4",
        terms_id=None,
        unnamed=frozenset(),
    )
    shown = (await world.refresh.execute(deal_ref())).items[0]
    assert (shown.terms_id, shown.terms_name, shown.class_name, shown.location_name) == (
        None,
        None,
        None,
        None,
    )


async def test_an_unpaid_invoice_past_its_due_date_is_overdue(world: World) -> None:
    view = await world.create.execute(create_command())

    world.clock.advance(timedelta(days=8))
    page = await world.refresh.execute(deal_ref())

    assert page.items[0].status is InvoiceStatus.OVERDUE
    events = await world.events.execute(ListPageCommand(deal_ref()))
    assert events.items[0].event.kind == "overdue"
    assert events.items[0].invoice_id == view.id


async def test_an_invoice_deleted_in_quickbooks_shows_as_deleted(world: World) -> None:
    view = await world.create.execute(create_command())
    assert view.quickbooks_id is not None
    del world.qbo.invoices[view.quickbooks_id]

    page = await world.refresh.execute(deal_ref())

    assert page.items[0].state is InvoiceState.DELETED


async def test_voiding_is_irreversible_and_a_second_void_is_refused(world: World) -> None:
    view = await world.create.execute(create_command())
    ref = invoice_ref(view.id)

    voided = await world.void.execute(InvoiceActionCommand(ref))
    assert voided.state is InvoiceState.VOIDED
    assert world.qbo.invoices[view.quickbooks_id or ""].voided

    with pytest.raises(InvalidStateTransitionError) as caught:
        await world.void.execute(InvoiceActionCommand(ref))
    assert caught.value.state == "VOIDED"
    assert caught.value.action == "void"


async def test_a_paid_invoice_can_be_voided(world: World) -> None:
    view = await world.create.execute(create_command())
    world.qbo.record_payment(view.quickbooks_id or "", Money.of("2109.78", "USD"))
    await world.refresh.execute(deal_ref())

    voided = await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))

    assert voided.state is InvoiceState.VOIDED


async def test_deleting_removes_it_from_quickbooks(world: World) -> None:
    view = await world.create.execute(create_command())

    deleted = await world.delete.execute(InvoiceActionCommand(invoice_ref(view.id)))

    assert deleted.state is InvoiceState.DELETED
    assert view.quickbooks_id in world.qbo.deleted
    with pytest.raises(InvalidStateTransitionError):
        await world.send.execute(SendInvoiceCommand(invoice_ref(view.id)))


async def test_sending_uses_the_customer_email_unless_overridden(world: World) -> None:
    view = await world.create.execute(create_command())
    ref = invoice_ref(view.id)

    await world.send.execute(SendInvoiceCommand(ref))
    await world.send.execute(SendInvoiceCommand(ref, to="billing@acme.test"))

    assert [to for _, to in world.qbo.sent] == ["ana@acme.test", "billing@acme.test"]
    events = await world.events.execute(ListPageCommand(deal_ref()))
    assert [e.event.kind for e in events.items[:2]] == ["sent", "sent"]


async def test_sending_to_something_that_is_not_an_email_is_refused(world: World) -> None:
    view = await world.create.execute(create_command())

    with pytest.raises(InvalidValueError) as caught:
        await world.send.execute(SendInvoiceCommand(invoice_ref(view.id), to="nope"))
    assert caught.value.violations[0].field == "to"


async def test_the_pdf_is_quickbooks_own(world: World) -> None:
    view = await world.create.execute(create_command())

    pdf = await world.pdf.execute(invoice_ref(view.id))

    assert pdf.content.startswith(b"%PDF-")
    assert pdf.filename == f"invoice-{view.doc_number}.pdf"


async def test_invoices_are_listed_newest_first_page_by_page(world: World) -> None:
    ids = []
    for n in range(5):
        world.clock.advance(timedelta(minutes=1))
        ids.append((await world.create.execute(create_command(f"r{n}"))).id)

    first = await world.list.execute(ListPageCommand(deal_ref(), page_size=2))
    second = await world.list.execute(
        ListPageCommand(deal_ref(), page_size=2, page_token=first.next_page_token)
    )
    third = await world.list.execute(
        ListPageCommand(deal_ref(), page_size=2, page_token=second.next_page_token)
    )

    seen = [v.id for v in first.items + second.items + third.items]
    assert seen == list(reversed(ids))
    assert third.next_page_token == ""


async def test_a_page_token_from_another_deal_is_refused(world: World) -> None:
    for n in range(3):
        await world.create.execute(create_command(f"r{n}"))
    page = await world.list.execute(ListPageCommand(deal_ref(), page_size=1))

    with pytest.raises(InvalidValueError) as caught:
        await world.list.execute(
            ListPageCommand(deal_ref(deal_id="43"), page_token=page.next_page_token)
        )
    assert caught.value.violations[0].field == "page_token"


def edited_token(position: dict[str, object]) -> str:
    raw = json.dumps({"p": f"companies/{COMPANY}/deals/42", **position}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "position",
    [
        {"t": "0001-01-01T00:00:00+14:00", "i": "x"},  # year 0 in UTC
        {"t": "2020-01-01T00:00:00", "i": "x"},  # no offset: never ours
        {"t": "2020-01-01T00:00:00+00:00", "i": "a\x00"},
        {"t": "2020-01-01T00:00:00+00:00", "i": 7},
        {"i": "x"},
    ],
)
async def test_an_edited_page_token_is_damaged(world: World, position: dict[str, object]) -> None:
    token = edited_token(position)
    with pytest.raises(InvalidValueError) as caught:
        await world.list.execute(ListPageCommand(deal_ref(), page_token=token))
    assert caught.value.violations[0].code is MessageCode.PAGE_TOKEN_DAMAGED


@pytest.mark.parametrize("before", [0, -1, 2**31, True, "5"])
async def test_an_edited_history_page_token_is_damaged(world: World, before: object) -> None:
    token = edited_token({"p": f"companies/{COMPANY}/deals/42/events", "b": before})
    with pytest.raises(InvalidValueError) as caught:
        await world.events.execute(ListPageCommand(deal_ref(), page_token=token))
    assert caught.value.violations[0].code is MessageCode.PAGE_TOKEN_DAMAGED


async def test_another_company_cannot_read_or_act_on_the_invoice(world: World) -> None:
    view = await world.create.execute(create_command())

    with pytest.raises(PermissionDeniedError):
        await world.get.execute(invoice_ref(view.id, principal=OTHER))
    with pytest.raises(PermissionDeniedError):
        await world.void.execute(InvoiceActionCommand(invoice_ref(view.id, OTHER)))


async def test_history_records_creation_and_payment(world: World) -> None:
    view = await world.create.execute(create_command())
    world.qbo.record_payment(view.quickbooks_id or "", Money.of("10", "USD"))
    await world.refresh.execute(deal_ref())

    events = await world.events.execute(ListPageCommand(deal_ref()))

    kinds = [e.event.kind for e in events.items]
    assert kinds[0] == "payment_received"
    assert "created" in kinds
    assert "creation_requested" in kinds
    created = next(e for e in events.items if e.event.kind == "creation_requested")
    assert created.actor == "user-7"
    assert created.actor_name is None  # a caller without a name (an API token)


async def test_history_names_the_person_who_acted(world: World) -> None:
    camille = replace(USER, name="Camille Laurent")
    command = create_command()
    view = await world.create.execute(
        replace(command, deal=replace(command.deal, principal=camille))
    )
    await world.void.execute(InvoiceActionCommand(invoice_ref(view.id, camille), "void-1"))

    events = await world.events.execute(ListPageCommand(deal_ref()))

    named = {e.event.kind: e.actor_name for e in events.items}
    assert named["creation_requested"] == named["voided"] == "Camille Laurent"
    assert named["created"] is None  # recorded from QuickBooks' answer


@pytest.mark.parametrize("size", [-1])
async def test_a_negative_page_size_is_refused(world: World, size: int) -> None:
    with pytest.raises(InvalidValueError):
        await world.list.execute(ListPageCommand(deal_ref(), page_size=size))


async def test_totals_that_disagree_with_quickbooks_are_reported(world: World) -> None:
    original = world.qbo.create_invoice

    async def off_by_a_cent(company_id, invoice, **options):  # type: ignore[no-untyped-def]
        created = await original(company_id, invoice, **options)
        return replace(created, total=created.total + Money.of("0.01", "USD"))

    world.qbo.create_invoice = off_by_a_cent  # type: ignore[method-assign]

    view = await world.create.execute(create_command())

    assert view.totals_mismatch
    assert view.quickbooks_total == Money.of("2109.79", "USD")
    assert view.totals.total == Money.of("2109.78", "USD")
    assert Decimal("0.01") == (view.quickbooks_total - view.totals.total).amount


async def test_two_finishers_of_one_invoice_make_one_quickbooks_invoice_and_one_note(
    world: World,
) -> None:
    world.qbo.unavailable(times=3)
    view = await world.create.execute(create_command("req-race"))
    assert view.state is InvoiceState.CREATING

    results = await asyncio.gather(
        world.finish.execute(COMPANY, view.id),
        world.finish.execute(COMPANY, view.id),
    )

    assert {r.state for r in results} == {InvoiceState.OPEN}
    assert len(world.qbo.invoices) == 1
    assert len(world.crm.notes) == 1


# -- the deal follow-up (customer link and note), as a job ---------------------------------------


async def run_queued_follow_ups(world: World) -> None:
    queued = [args for name, args in world.jobs.deferred if name == "follow_up_on_deal"]
    world.jobs.deferred.clear()
    for args in queued:
        await world.follow_up.execute(str(args["company_id"]), str(args["invoice_id"]))


async def test_create_answers_before_the_deal_follow_up_which_a_job_then_does(
    world: World,
) -> None:
    view = await world.queued_create.execute(create_command())

    assert view.state is InvoiceState.OPEN
    assert world.crm.notes == []
    # No deal-fields job: the company has no deal fields to keep current.
    assert world.jobs.deferred == [
        ("follow_up_on_deal", {"company_id": COMPANY, "invoice_id": view.id}),
    ]

    await run_queued_follow_ups(world)

    assert len(world.crm.notes) == 1
    assert view.doc_number in world.crm.notes[0][2]
    async with world.uow() as uow:
        link = await uow.customer_links.get(COMPANY, SourceEntity.ORGANIZATION, "5")
    assert link is not None
    assert link.quickbooks_customer_id == view.customer.quickbooks_id


async def test_the_follow_up_queues_the_deal_fields_of_a_company_that_has_them(
    world: World,
) -> None:
    async with world.uow() as uow:
        keys = DealFieldKeys("k1" * 20, "k2" * 20, "k3" * 20, "k4" * 20)
        await uow.deal_fields.set_keys(COMPANY, keys, world.clock.now())
        await uow.commit()

    await world.queued_create.execute(create_command())
    assert [name for name, _ in world.jobs.deferred] == ["follow_up_on_deal"]  # answered first

    follow_up = replace(world.follow_up, jobs=world.jobs)  # as the worker's
    await follow_up.execute(COMPANY, str(world.jobs.deferred[0][1]["invoice_id"]))

    assert ("update_deal_fields", {"company_id": COMPANY, "deal_id": "42"}) in world.jobs.deferred


async def test_running_a_deal_follow_up_again_adds_no_second_note(world: World) -> None:
    view = await world.queued_create.execute(create_command())

    for _ in range(3):
        await world.follow_up.execute(COMPANY, view.id)

    assert len(world.crm.notes) == 1


async def test_a_note_whose_answer_was_lost_is_found_and_not_posted_again(
    world: World,
) -> None:
    view = await world.queued_create.execute(create_command())
    world.crm.note_error = UpstreamUnavailableError("Pipedrive timed out")
    world.crm.lost_answer = True  # Pipedrive created the note; its answer never arrived

    with pytest.raises(UpstreamUnavailableError):
        await world.follow_up.execute(COMPANY, view.id)
    await world.follow_up.execute(COMPANY, view.id)  # the job's retry

    assert len(world.crm.notes) == 1


async def test_a_note_refused_while_pipedrive_is_down_is_posted_by_the_retry(
    world: World,
) -> None:
    view = await world.queued_create.execute(create_command())
    world.crm.note_error = UpstreamUnavailableError("Pipedrive is down")

    with pytest.raises(UpstreamUnavailableError):
        await world.follow_up.execute(COMPANY, view.id)
    assert world.crm.notes == []
    await world.follow_up.execute(COMPANY, view.id)

    assert len(world.crm.notes) == 1


async def test_a_deleted_deal_ends_its_follow_up_without_a_note(world: World) -> None:
    view = await world.queued_create.execute(create_command())
    world.crm.add_deal(COMPANY, replace(a_deal(), deleted=True))

    await run_queued_follow_ups(world)
    world.crm.add_deal(COMPANY, a_deal())
    await world.follow_up.execute(COMPANY, view.id)

    assert world.crm.notes == []


async def test_the_sweep_queues_a_follow_up_that_was_never_run(world: World) -> None:
    await world.queued_create.execute(create_command())
    world.jobs.deferred.clear()  # the process stopped before the job ran
    world.clock.advance(timedelta(minutes=2))

    swept = await SweepStuckCreations(world.uow, world.jobs, world.clock).execute()

    assert swept == 2  # the follow-up, and the deal timeline's "created" entry
    await run_queued_follow_ups(world)
    assert len(world.crm.notes) == 1
    assert await SweepStuckCreations(world.uow, world.jobs, world.clock).execute() == 0
