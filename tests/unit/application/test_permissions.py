"""Who may create, send, void and delete (issue 16): the company's settings keep actions for
its Pipedrive admins; every use case enforces it, whatever a page shows."""

from __future__ import annotations

import dataclasses

import pytest

from application.auth import Principal
from application.commands import (
    CreateInvoiceCommand,
    InvoiceActionCommand,
    SendInvoiceCommand,
    SettingsInput,
    UpdateSettingsCommand,
)
from application.errors import PermissionDeniedError
from application.reasons import MetadataKey, Reason
from application.settings import AllowedActions, UpdateSettings
from domain.errors import InvalidValueError
from domain.messages import MessageCode
from domain.permissions import Action, Permissions, Rule
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


# -- named Pipedrive permission sets --------------------------------------------------------

BILLING_SET = "f07d229d-088a-4144-a40f-1fe64295d180"
BILLING = dataclasses.replace(USER, subject="user-5", permission_sets=frozenset({BILLING_SET}))


async def grant(world: World, action: Action, *set_ids: str) -> None:
    async with world.uow() as uow:
        settings = CompanySettings.default(COMPANY)
        await uow.settings.save(
            dataclasses.replace(
                settings, permissions=Permissions.of([], {action.value: list(set_ids)})
            )
        )
        await uow.commit()


def test_permission_sets_are_read_per_action_and_refuse_malformed_ids_and_too_many() -> None:
    permissions = Permissions.of(["delete"], {"void": [BILLING_SET]})

    assert permissions.rule(Action.VOID) is Rule.PERMISSION_SETS
    assert permissions.rule(Action.DELETE) is Rule.ADMINS_ONLY
    assert permissions.rule(Action.SEND) is Rule.EVERYONE
    assert permissions.allows(Action.VOID, is_admin=False, permission_sets={BILLING_SET})
    assert not permissions.allows(Action.VOID, is_admin=False, permission_sets={"other"})
    assert permissions.allows(Action.VOID, is_admin=True)
    with pytest.raises(InvalidValueError) as malformed:
        Permissions.of([], {"void": ["no spaces please"], "approve": ["x"]})
    assert {(v.field, v.code) for v in malformed.value.violations} == {
        ("permission_sets.void", MessageCode.NOT_A_PERMISSION_SET),
        ("permission_sets.approve", MessageCode.CHOOSE_ONE_OF),
    }
    with pytest.raises(InvalidValueError) as too_many:
        Permissions.of([], {"void": [f"set-{n}" for n in range(21)]})
    assert too_many.value.violations[0].code == MessageCode.TOO_MANY_PERMISSION_SETS


async def test_an_action_granted_to_a_permission_set_is_for_its_members_and_admins_only(
    world: World,
) -> None:
    view = await world.create.execute(create_command())
    await grant(world, Action.VOID, BILLING_SET)
    world.qbo.calls.clear()

    with pytest.raises(PermissionDeniedError) as refused:
        await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))
    assert refused.value.reason == Reason.PERMISSION_SET_REQUIRED
    assert refused.value.metadata[MetadataKey.ACTION] == "void"
    assert world.qbo.calls == []
    assert Action.VOID not in await AllowedActions(world.uow).execute(USER, COMPANY)
    assert Action.VOID in await AllowedActions(world.uow).execute(BILLING, COMPANY)
    assert Action.VOID in await AllowedActions(world.uow).execute(ADMIN, COMPANY)

    voided = await world.void.execute(InvoiceActionCommand(invoice_ref(view.id, BILLING)))

    assert voided.state.value == "voided"


async def test_settings_keep_the_permission_sets_per_action_and_say_which_are_bad(
    world: World,
) -> None:
    admin = dataclasses.replace(ADMIN, companies=frozenset({COMPANY}))
    update = UpdateSettings(world.uow, world.clock)
    command = UpdateSettingsCommand(
        admin,
        COMPANY,
        SettingsInput(
            invoice_permissions=("delete",),
            invoice_permission_sets=(("void", (BILLING_SET,)), ("send", (BILLING_SET, "s-2"))),
        ),
        update_mask=("invoice_permissions",),
    )

    saved = await update.execute(command)

    permissions = saved.settings.permissions
    assert permissions.sets_for(Action.VOID) == {BILLING_SET}
    assert permissions.sets_for(Action.SEND) == {BILLING_SET, "s-2"}
    assert permissions.admins_only == {Action.DELETE}
    bad = dataclasses.replace(
        command,
        settings=SettingsInput(invoice_permission_sets=(("void", ("<script>",)),)),
    )
    with pytest.raises(InvalidValueError) as refused:
        await update.execute(bad)
    assert [v.field for v in refused.value.violations] == [
        "invoice_permissions.permission_sets.void"
    ]
