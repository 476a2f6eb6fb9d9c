"""Invoice templates: admins keep named presets (one default), the form starts from the default
one, and CreateInvoice applies a template before the request's own values."""

from __future__ import annotations

import dataclasses

import pytest

from application.auth import Principal
from application.commands import (
    CustomerInput,
    CustomFieldInput,
    DealRef,
    FieldSourceInput,
    InvoiceInput,
    LineInput,
    SaveTemplateCommand,
    TemplateCustomFieldInput,
    TemplateInput,
    TemplateRefCommand,
)
from application.errors import ConcurrencyConflictError, NotFoundError, PermissionDeniedError
from application.invoicing.create import request_hash
from application.ports.accounting import ClassTracking, NamedRef
from application.templates import (
    DeleteInvoiceTemplate,
    ListInvoiceTemplates,
    SaveInvoiceTemplate,
    template_etag,
)
from application.views import InvoiceView
from domain.errors import InvalidValueError
from domain.invoice_template import CustomFieldValue, InvoiceExtras
from domain.messages import MessageCode
from tests.unit.application.invoicing_world import (
    COMPANY,
    USER,
    World,
    create_command,
    deal_ref,
)

ADMIN = Principal(subject="admin-1", companies=frozenset({COMPANY}), is_admin=True)


@pytest.fixture
def world() -> World:
    return World()


def _retainer(**changes: object) -> TemplateInput:
    values: dict[str, object] = {
        "display_name": "Retainer",
        "is_default": True,
        "terms_id": "2",
        "customer_memo": "Thank you for your trust.",
        "private_note": "Monthly retainer",
        "custom_fields": (TemplateCustomFieldInput("1", source=FieldSourceInput("deal", "title")),),
        "bill_email_cc": "ops@acme.test; boss@acme.test",
        "bill_email_bcc": "books@us.test",
        "allow_online_card": True,
        "allow_online_ach": False,
    }
    values.update(changes)
    return TemplateInput(**values)  # type: ignore[arg-type]


async def _save(world: World, data: TemplateInput, template_id: str = "", etag: str = "") -> str:
    saved = await SaveInvoiceTemplate(world.uow, world.clock).execute(
        SaveTemplateCommand(ADMIN, COMPANY, data, template_id, etag)
    )
    return saved.id


async def _templates(world: World) -> list[tuple[str, bool]]:
    found = await ListInvoiceTemplates(world.uow).execute(USER, COMPANY)
    return [(t.name, t.is_default) for t in found]


async def test_an_admin_saves_templates_and_marking_a_default_clears_the_other(
    world: World,
) -> None:
    await _save(world, _retainer())
    await _save(world, _retainer(display_name="Project", custom_fields=()))

    assert await _templates(world) == [("Project", True), ("Retainer", False)]
    found = await ListInvoiceTemplates(world.uow).execute(USER, COMPANY)
    retainer = found[1]
    assert retainer.bill_email_cc == "ops@acme.test, boss@acme.test"
    assert retainer.custom_fields[0].source is not None


async def test_names_are_unique_per_company_whatever_their_case(world: World) -> None:
    await _save(world, _retainer())

    with pytest.raises(InvalidValueError) as raised:
        await _save(world, _retainer(display_name="RETAINER "))

    assert [(v.field, v.code) for v in raised.value.violations] == [
        ("display_name", MessageCode.TEMPLATE_NAME_TAKEN)
    ]


async def test_every_bad_field_is_reported_at_once_with_its_code(world: World) -> None:
    bad = _retainer(
        display_name="",
        bill_email_cc="ops@acme.test, not-an-address",
        custom_fields=(
            TemplateCustomFieldInput("4", "x"),
            TemplateCustomFieldInput("1", "PO-1", FieldSourceInput("deal", "title")),
            TemplateCustomFieldInput("2", "x" * 32),
            TemplateCustomFieldInput("3", source=FieldSourceInput("planet", "x")),
        ),
    )

    with pytest.raises(InvalidValueError) as raised:
        await _save(world, bad)

    assert {(v.field, v.code) for v in raised.value.violations} == {
        ("display_name", MessageCode.REQUIRED),
        ("bill_email_cc", MessageCode.NOT_AN_EMAIL),
        ("custom_fields[0].definition_id", MessageCode.CHOOSE_ONE_OF),
        ("custom_fields[1]", MessageCode.VALUE_OR_DEAL_FIELD),
        ("custom_fields[2].value", MessageCode.TOO_LONG_FOR_QUICKBOOKS),
        ("custom_fields[3].source.entity", MessageCode.UNKNOWN_ENTITY),
        ("custom_fields[3].value", MessageCode.VALUE_OR_DEAL_FIELD),
    }


async def test_only_admins_change_templates_and_a_stale_etag_is_refused(world: World) -> None:
    template_id = await _save(world, _retainer())
    with pytest.raises(PermissionDeniedError):
        await SaveInvoiceTemplate(world.uow, world.clock).execute(
            SaveTemplateCommand(USER, COMPANY, _retainer())
        )
    await _save(world, _retainer(customer_memo="Changed"), template_id, etag='"v1"')

    with pytest.raises(ConcurrencyConflictError):
        await _save(world, _retainer(), template_id, etag='"v1"')
    with pytest.raises(PermissionDeniedError):
        await DeleteInvoiceTemplate(world.uow).execute(
            TemplateRefCommand(USER, COMPANY, template_id)
        )
    await DeleteInvoiceTemplate(world.uow).execute(TemplateRefCommand(ADMIN, COMPANY, template_id))
    assert await _templates(world) == []
    with pytest.raises(NotFoundError):
        await DeleteInvoiceTemplate(world.uow).execute(
            TemplateRefCommand(ADMIN, COMPANY, template_id)
        )
    assert template_etag  # imported for the etag format used above


async def test_the_draft_starts_from_the_default_template_with_deal_fields_read(
    world: World,
) -> None:
    template_id = await _save(world, _retainer())
    await _save(world, _retainer(display_name="Other", is_default=False, custom_fields=()))

    draft = await world.prepare.execute(deal_ref())

    assert draft.template_id == template_id
    assert draft.terms_id == "2"
    assert (draft.memo, draft.private_note) == ("Thank you for your trust.", "Monthly retainer")
    assert draft.custom_fields == (CustomFieldValue("1", "Website redesign"),)
    assert (draft.bill_email_cc, draft.bill_email_bcc) == (
        "ops@acme.test, boss@acme.test",
        "books@us.test",
    )
    assert (draft.allow_online_card, draft.allow_online_ach) == (True, False)
    assert [d.template.name for d in draft.templates] == ["Other", "Retainer"]


async def test_without_templates_the_draft_has_none_applied(world: World) -> None:
    draft = await world.prepare.execute(deal_ref())

    assert (draft.template_id, draft.templates, draft.memo) == (None, (), "")
    assert draft.allow_online_card is None


async def test_create_applies_the_template_first_and_the_requests_values_win(
    world: World,
) -> None:
    template_id = await _save(world, _retainer())

    view = await world.create.execute(
        create_command(
            template_id=template_id,
            bill_email_bcc="",  # cleared by the user
            allow_online_ach=True,
        )
    )

    assert view.memo == "Thank you for your trust."
    assert view.terms_id == "2"
    assert world.qbo.sent_extras[view.quickbooks_id or ""] == InvoiceExtras(
        private_note="Monthly retainer",
        custom_fields=(CustomFieldValue("1", "Website redesign"),),
        bill_email_cc="ops@acme.test, boss@acme.test",
        bill_email_bcc="",
        allow_online_card=True,
        allow_online_ach=True,
        template_id=template_id,
        template_name="Retainer",
    )


async def test_a_custom_field_given_in_the_request_replaces_the_templates(world: World) -> None:
    template_id = await _save(world, _retainer())

    view = await world.create.execute(
        create_command(template_id=template_id, custom_fields=(CustomFieldInput("1", "PO-9981"),))
    )

    extras = world.qbo.sent_extras[view.quickbooks_id or ""]
    assert extras is not None
    assert extras.custom_fields == (CustomFieldValue("1", "PO-9981"),)


async def test_an_unknown_template_or_custom_field_is_a_field_error(world: World) -> None:
    with pytest.raises(InvalidValueError) as unknown:
        await world.create.execute(create_command(template_id="nope"))
    with pytest.raises(InvalidValueError) as undefined:
        await world.create.execute(
            create_command("req-2", custom_fields=(CustomFieldInput("3", "x"),))
        )

    assert [(v.field, v.code) for v in unknown.value.violations] == [
        ("invoice.template", MessageCode.UNKNOWN_TEMPLATE)
    ]
    assert [(v.field, v.code) for v in undefined.value.violations] == [
        ("invoice.custom_fields[0].definition_id", MessageCode.UNKNOWN_CUSTOM_FIELD)
    ]


async def test_an_invoice_without_template_or_extras_sends_none(world: World) -> None:
    view = await world.create.execute(create_command())

    assert world.qbo.sent_extras[view.quickbooks_id or ""] is None


def test_a_request_without_template_fields_hashes_as_before_templates() -> None:
    """A request id used before templates existed still replays as the same request."""
    data = InvoiceInput(
        customer=CustomerInput(display_name="Acme"),
        lines=(LineInput(name="Work", quantity="2", unit_price="10"),),
        currency="USD",
        memo="Hi",
    )
    # The digest the request hash gave before templates (commit 2e9bda5).
    before = "dc89a775ed12be6258ff8c765a5214582f4484e8f133110b5d73d804bb6fb4fb"

    assert request_hash(DealRef(USER, COMPANY, "42"), data) == before
    with_template = dataclasses.replace(data, template_id="t1")
    assert request_hash(DealRef(USER, COMPANY, "42"), with_template) != before


# -- classes and locations (QuickBooks' Class and Department) ---------------------------------


def _tracking(world: World) -> None:
    world.qbo.preferences = dataclasses.replace(
        world.qbo.preferences, class_tracking=ClassTracking.PER_INVOICE, location_tracking=True
    )
    world.qbo.classes = (
        NamedRef("1", "Landscaping"),
        NamedRef("2", "Landscaping:Design"),
        NamedRef("9", "Retired", active=False),
    )
    world.qbo.locations = (NamedRef("1", "San Pablo"), NamedRef("2", "Oakland"))


async def _template_tracking(world: World, class_id: str, location_id: str) -> str:
    """The company tracks classes and locations, and a template sets both; its id."""
    _tracking(world)
    return await _save(world, _retainer(class_id=class_id, location_id=location_id))


def _tracked_as_sent(world: World, view: InvoiceView) -> tuple[str | None, str | None]:
    sent = world.qbo.sent_extras[view.quickbooks_id or ""]
    assert sent is not None
    return sent.class_id, sent.location_id


async def test_the_templates_class_and_location_go_to_quickbooks_unless_the_request_sets_its_own(
    world: World,
) -> None:
    template_id = await _template_tracking(world, "2", "1")

    draft = await world.prepare.execute(deal_ref())
    from_template = await world.create.execute(create_command(template_id=template_id))
    chosen = await world.create.execute(
        create_command("req-2", template_id=template_id, class_id="1", location_id="")
    )

    assert (draft.class_id, draft.location_id) == ("2", "1")
    assert _tracked_as_sent(world, from_template) == ("2", "1")
    assert _tracked_as_sent(world, chosen) == ("1", None)  # the user cleared the location


async def test_a_class_or_location_quickbooks_does_not_have_active_is_a_field_error(
    world: World,
) -> None:
    _tracking(world)

    with pytest.raises(InvalidValueError) as refused:
        await world.create.execute(create_command(class_id="9", location_id="7"))

    assert [(v.field, v.code, v.params) for v in refused.value.violations] == [
        ("invoice.class_id", MessageCode.UNKNOWN_CLASS, {"value": "9"}),
        ("invoice.location_id", MessageCode.UNKNOWN_LOCATION, {"value": "7"}),
    ]


async def test_a_company_that_stopped_tracking_classes_gets_none_and_no_warning(
    world: World,
) -> None:
    template_id = await _template_tracking(world, "2", "1")
    world.qbo.preferences = dataclasses.replace(
        world.qbo.preferences, class_tracking=ClassTracking.NONE, location_tracking=False
    )

    draft = await world.prepare.execute(deal_ref())
    view = await world.create.execute(create_command(template_id=template_id))

    assert (draft.class_id, draft.location_id) == (None, None)
    assert not [w for w in draft.warnings if w.field in ("class_id", "location_id")]
    assert _tracked_as_sent(world, view) == (None, None)


async def test_a_templates_class_made_inactive_is_left_out_and_the_draft_says_so(
    world: World,
) -> None:
    template_id = await _template_tracking(world, "9", "2")

    draft = await world.prepare.execute(deal_ref())
    view = await world.create.execute(create_command(template_id=template_id))

    assert (draft.class_id, draft.location_id) == (None, "2")
    tracking = [w for w in draft.warnings if w.field in ("class_id", "location_id")]
    # QuickBooks still lists it, as inactive: the warning names it.
    assert [(w.code, w.field, w.params) for w in tracking] == [
        (MessageCode.UNKNOWN_CLASS, "class_id", {"value": "Retired"})
    ]
    assert _tracked_as_sent(world, view) == (None, "2")


async def test_a_templates_location_quickbooks_no_longer_lists_is_said_by_its_id(
    world: World,
) -> None:
    await _template_tracking(world, "2", "7")

    draft = await world.prepare.execute(deal_ref())

    assert (draft.class_id, draft.location_id) == ("2", None)
    tracking = [w for w in draft.warnings if w.field in ("class_id", "location_id")]
    assert [(w.code, w.field, w.params) for w in tracking] == [
        (MessageCode.UNKNOWN_LOCATION, "location_id", {"value": "7"})
    ]
