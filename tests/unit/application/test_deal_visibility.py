"""Pipedrive's deal visibility (issue 16): a user Pipedrive hides a deal from cannot see or act
on its invoices; its followers and admins can; service tokens are not limited. Pipedrive says
who may see the deal (``deal_permitted_users``), one read per check."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from application.auth import Principal
from application.commands import (
    CreateInvoiceCommand,
    InvoiceActionCommand,
    ListPageCommand,
    SendInvoiceCommand,
)
from application.errors import PermissionDeniedError, UpstreamUnavailableError
from application.reasons import MetadataKey, Reason
from tests.unit.application.invoicing_world import (
    COMPANY,
    USER,
    World,
    an_invoice_input,
    create_command,
    deal_ref,
    invoice_ref,
)

DEAL = "42"


def pipedrive_user(user_id: str, *, is_admin: bool = False) -> Principal:
    return Principal(
        subject=f"pipedrive-user-{user_id}",
        companies=frozenset({COMPANY}),
        is_admin=is_admin,
        user_id=user_id,
    )


OWNER = pipedrive_user("31")
FOLLOWER = pipedrive_user("32")
OUTSIDER = pipedrive_user("33")
ADMIN = pipedrive_user("34", is_admin=True)


@pytest.fixture
async def world() -> World:
    """A deal with one invoice, made by a service token, that Pipedrive shows only to its owner
    and its follower (and admins)."""
    world = World()
    world.crm.members[COMPANY] = {"31", "32", "33", "34"}
    world.crm.restrict_deal(COMPANY, DEAL, {"31", "32"})
    return world


async def an_invoice(world: World) -> str:
    return (await world.create.execute(create_command())).id


def calls_for(world: World, who: Principal, invoice_id: str) -> dict[str, Callable[[], Any]]:
    """Every use case that reads or acts on the deal's invoices, as ``who``."""
    deal, invoice = deal_ref(who), invoice_ref(invoice_id, who)
    return {
        "list": lambda: world.list.execute(ListPageCommand(deal)),
        "history": lambda: world.events.execute(ListPageCommand(deal)),
        "get": lambda: world.get.execute(invoice),
        "pdf": lambda: world.pdf.execute(invoice),
        "refresh": lambda: world.refresh.execute(deal),
        "prepare": lambda: world.prepare.execute(deal),
        "create": lambda: world.create.execute(
            CreateInvoiceCommand(deal, an_invoice_input(), "req-hidden")
        ),
        "send": lambda: world.send.execute(SendInvoiceCommand(invoice)),
        "void": lambda: world.void.execute(InvoiceActionCommand(invoice)),
        "delete": lambda: world.delete.execute(InvoiceActionCommand(invoice)),
    }


CALLS = ["list", "history", "get", "pdf", "refresh", "prepare", "create", "send", "void", "delete"]


@pytest.mark.parametrize("call", CALLS)
async def test_a_user_the_deal_is_hidden_from_is_refused_before_quickbooks_is_asked(
    world: World, call: str
) -> None:
    invoice_id = await an_invoice(world)
    world.qbo.calls.clear()

    with pytest.raises(PermissionDeniedError) as refused:
        await calls_for(world, OUTSIDER, invoice_id)[call]()

    assert refused.value.reason == Reason.DEAL_NOT_VISIBLE
    assert refused.value.metadata == {MetadataKey.COMPANY: COMPANY, MetadataKey.DEAL: DEAL}
    assert world.qbo.calls == []
    assert (await world.get.execute(invoice_ref(invoice_id))).state.value == "open"


@pytest.mark.parametrize("who", [OWNER, FOLLOWER], ids=["owner", "follower"])
async def test_the_owner_and_a_follower_see_and_act_on_the_invoices(
    world: World, who: Principal
) -> None:
    invoice_id = await an_invoice(world)

    listed = await world.list.execute(ListPageCommand(deal_ref(who)))
    voided = await world.void.execute(InvoiceActionCommand(invoice_ref(invoice_id, who)))

    assert [v.id for v in listed.items] == [invoice_id]
    assert voided.state.value == "voided"


async def test_each_check_reads_pipedrive_once_and_a_refresh_checks_once(world: World) -> None:
    await an_invoice(world)
    world.crm.permitted_reads.clear()

    await world.list.execute(ListPageCommand(deal_ref(FOLLOWER)))
    assert world.crm.permitted_reads == [(COMPANY, DEAL)]
    await world.refresh.execute(deal_ref(FOLLOWER))
    assert world.crm.permitted_reads == [(COMPANY, DEAL)] * 2


@pytest.mark.parametrize(
    "who",
    [ADMIN, USER, Principal(subject="ops", companies=None)],
    ids=["pipedrive admin", "service token", "operator token"],
)
async def test_admins_and_service_tokens_see_every_deal_without_asking_pipedrive(
    world: World, who: Principal
) -> None:
    invoice_id = await an_invoice(world)
    world.crm.permitted_reads.clear()

    listed = await world.list.execute(ListPageCommand(deal_ref(who)))
    got = await world.get.execute(invoice_ref(invoice_id, who))

    assert [v.id for v in listed.items] == [got.id]
    assert world.crm.permitted_reads == []


async def test_a_deal_visible_to_the_entire_company_shows_to_every_user(world: World) -> None:
    world.crm.restricted.clear()
    invoice_id = await an_invoice(world)

    listed = await world.list.execute(ListPageCommand(deal_ref(OUTSIDER)))

    assert [v.id for v in listed.items] == [invoice_id]


async def test_a_deal_gone_from_pipedrive_is_refused_to_users_and_shown_to_admins(
    world: World,
) -> None:
    invoice_id = await an_invoice(world)
    world.crm.deals[(COMPANY, DEAL)] = dataclasses.replace(
        world.crm.deals[(COMPANY, DEAL)], deleted=True
    )

    with pytest.raises(PermissionDeniedError) as refused:
        await world.list.execute(ListPageCommand(deal_ref(OWNER)))
    listed = await world.list.execute(ListPageCommand(deal_ref(ADMIN)))

    assert refused.value.reason == Reason.DEAL_NOT_VISIBLE
    assert [v.id for v in listed.items] == [invoice_id]


async def test_pipedrive_unavailable_shows_nothing_on_a_guess(world: World) -> None:
    await an_invoice(world)
    world.crm.visibility_error = UpstreamUnavailableError("Pipedrive is down.")

    with pytest.raises(UpstreamUnavailableError):
        await world.list.execute(ListPageCommand(deal_ref(FOLLOWER)))


async def test_another_companys_user_is_refused_before_pipedrive_is_asked(world: World) -> None:
    stranger = dataclasses.replace(OUTSIDER, companies=frozenset({"2002"}))

    with pytest.raises(PermissionDeniedError) as refused:
        await world.list.execute(ListPageCommand(deal_ref(stranger)))

    assert refused.value.reason == Reason.NOT_ALLOWED
    assert world.crm.permitted_reads == []
