"""Who may create, send, void and delete (issue 16): the company's settings keep actions for
its Pipedrive admins; every use case enforces it, whatever a page shows."""

from __future__ import annotations

import dataclasses

import pytest

from application.auth import Principal
from application.commands import CreateInvoiceCommand, InvoiceActionCommand, SendInvoiceCommand
from application.errors import PermissionDeniedError
from application.reasons import MetadataKey, Reason
from application.settings import AllowedActions
from domain.errors import InvalidValueError
from domain.permissions import Action, Permissions
from domain.settings import CompanySettings
from tests.unit.application.invoicing_world import (
    COMPANY,
    USER,
    World,
    create_command,
    deal_ref,
    invoice_ref,
)

ADMIN = dataclasses.replace(USER, subject="user-1", is_admin=True)
OPERATOR = Principal(subject="billing-service", companies=None)


@pytest.fixture
def world() -> World:
    return World()


async def keep_for_admins(world: World, *actions: Action) -> None:
    async with world.uow() as uow:
        settings = CompanySettings.default(COMPANY)
        await uow.settings.save(
            dataclasses.replace(settings, permissions=Permissions(frozenset(actions)))
        )
        await uow.commit()


def test_permissions_are_read_from_text_and_refuse_unknown_actions() -> None:
    permissions = Permissions.of(["void", "delete"])

    assert permissions.allows(Action.VOID, is_admin=True)
    assert not permissions.allows(Action.VOID, is_admin=False)
    assert permissions.allows(Action.CREATE, is_admin=False)
    with pytest.raises(InvalidValueError):
        Permissions.of(["void", "approve"])


async def test_by_default_everyone_may_do_everything(world: World) -> None:
    view = await world.create.execute(create_command())

    voided = await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))

    assert voided.state.value == "voided"
    assert await AllowedActions(world.uow).execute(USER, COMPANY) == frozenset(Action)


@pytest.mark.parametrize("action", [Action.SEND, Action.VOID, Action.DELETE])
async def test_an_action_kept_for_admins_is_refused_to_others_before_quickbooks_is_asked(
    world: World, action: Action
) -> None:
    view = await world.create.execute(create_command())
    await keep_for_admins(world, action)
    world.qbo.calls.clear()
    use_case = {Action.SEND: world.send, Action.VOID: world.void, Action.DELETE: world.delete}
    command = (
        SendInvoiceCommand(invoice_ref(view.id))
        if action is Action.SEND
        else InvoiceActionCommand(invoice_ref(view.id))
    )

    with pytest.raises(PermissionDeniedError) as refused:
        await use_case[action].execute(command)  # type: ignore[attr-defined]

    assert refused.value.reason == Reason.ADMINS_ONLY
    assert refused.value.metadata[MetadataKey.ACTION] == action.value
    assert world.qbo.calls == []
    for caller in (ADMIN, OPERATOR):  # an admin, and a service acting for the company, may
        ref = invoice_ref(view.id, caller)
        allowed = SendInvoiceCommand(ref) if action is Action.SEND else InvoiceActionCommand(ref)
        await use_case[action].execute(allowed)  # type: ignore[attr-defined]
        if action is not Action.SEND:
            break  # voided or deleted once is enough
    assert await AllowedActions(world.uow).execute(USER, COMPANY) == frozenset(Action) - {action}
    assert await AllowedActions(world.uow).execute(ADMIN, COMPANY) == frozenset(Action)


async def test_creating_kept_for_admins_stores_nothing_for_others(world: World) -> None:
    await keep_for_admins(world, Action.CREATE)

    with pytest.raises(PermissionDeniedError):
        await world.create.execute(create_command())
    assert world.qbo.invoices == {}

    created = await world.create.execute(
        CreateInvoiceCommand(deal_ref(ADMIN), create_command().invoice, "req-admin")
    )
    assert created.quickbooks_id
    assert len(world.qbo.invoices) == 1
