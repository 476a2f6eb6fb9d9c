"""Settings use cases wired with in-memory fakes and a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.system_clock import FrozenClock
from application.auth import Principal
from application.commands import (
    DueDatePolicyInput,
    FieldSourceInput,
    GetSettingsCommand,
    SettingsInput,
    UpdateSettingsCommand,
)
from application.errors import ConcurrencyConflictError, PermissionDeniedError
from application.reasons import Reason
from application.settings import GetSettings, UpdateSettings
from domain.due_date_policy import DueDateRule
from domain.errors import InvalidValueError
from domain.field_mapping import FieldSource, SourceEntity

ADMIN = Principal(subject="admin", companies=frozenset({"1001"}), is_admin=True)
USER = Principal(subject="user", companies=frozenset({"1001"}), is_admin=False)
NOW = datetime(2026, 3, 13, 9, 30, tzinfo=UTC)


@pytest.fixture
def uow_factory() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
def get_settings(uow_factory: InMemoryUnitOfWorkFactory) -> GetSettings:
    return GetSettings(uow_factory)


@pytest.fixture
def update_settings(uow_factory: InMemoryUnitOfWorkFactory) -> UpdateSettings:
    return UpdateSettings(uow_factory, FrozenClock(NOW))


def update(
    settings: SettingsInput, *mask: str, principal: Principal = ADMIN, etag: str = ""
) -> UpdateSettingsCommand:
    return UpdateSettingsCommand(
        principal=principal, company_id="1001", settings=settings, update_mask=mask, etag=etag
    )


async def test_a_company_that_never_saved_gets_the_suggested_defaults(
    get_settings: GetSettings,
) -> None:
    view = await get_settings.execute(GetSettingsCommand(ADMIN, "1001"))

    assert view.is_default
    mapping = view.settings.field_mapping
    assert mapping.to == FieldSource(SourceEntity.ORGANIZATION, "name")
    assert mapping.address == FieldSource(SourceEntity.ORGANIZATION, "address")
    assert mapping.email == FieldSource(SourceEntity.PERSON, "email")
    assert mapping.tax_id is None
    assert view.settings.due_date_policy.rule is DueDateRule.DAYS_AFTER_ISSUE
    assert view.settings.due_date_policy.days == 7


async def test_updating_only_the_masked_field_keeps_the_others(
    get_settings: GetSettings, update_settings: UpdateSettings
) -> None:
    changes = SettingsInput(
        tax_id=FieldSourceInput("organization", "a" * 40),
        due_date_policy=DueDatePolicyInput("days_after_issue", days=30),
        copy_customer_details=True,
    )

    await update_settings.execute(update(changes, "field_mapping.tax_id", "copy_customer_details"))
    view = await get_settings.execute(GetSettingsCommand(ADMIN, "1001"))

    assert view.settings.field_mapping.tax_id == FieldSource(SourceEntity.ORGANIZATION, "a" * 40)
    assert view.settings.copy_customer_details is True
    assert view.settings.due_date_policy.days == 7  # not in the mask
    assert view.settings.field_mapping.to == FieldSource(SourceEntity.ORGANIZATION, "name")
    assert view.settings.updated_at == NOW
    assert not view.is_default


async def test_an_empty_mask_replaces_every_field(update_settings: UpdateSettings) -> None:
    view = await update_settings.execute(
        update(SettingsInput(due_date_policy=DueDatePolicyInput("end_of_month")))
    )

    assert view.settings.field_mapping.to is None
    assert view.settings.due_date_policy.rule is DueDateRule.END_OF_MONTH
    assert view.settings.copy_customer_details is False


async def test_every_bad_value_is_reported_at_once_with_its_field(
    update_settings: UpdateSettings,
) -> None:
    bad = SettingsInput(
        to=FieldSourceInput("invoice", "name"),
        due_date_policy=DueDatePolicyInput("days_after_issue", days=-3),
        default_currency="XYZ",
    )

    with pytest.raises(InvalidValueError) as caught:
        await update_settings.execute(
            update(bad, "field_mapping.to", "due_date_policy", "default_currency")
        )

    fields = {v.field for v in caught.value.violations}
    assert fields == {"field_mapping.to.entity", "due_date_policy.days", "default_currency"}


@pytest.mark.parametrize("day", [0, 32])
async def test_day_of_next_month_outside_1_to_31_is_rejected(
    update_settings: UpdateSettings, day: int
) -> None:
    bad = SettingsInput(due_date_policy=DueDatePolicyInput("day_of_next_month", day_of_month=day))

    with pytest.raises(InvalidValueError) as caught:
        await update_settings.execute(update(bad, "due_date_policy"))

    assert [v.field for v in caught.value.violations] == ["due_date_policy.day_of_month"]


async def test_an_unknown_field_in_the_mask_is_rejected(update_settings: UpdateSettings) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await update_settings.execute(update(SettingsInput(), "field_mapping.phone"))

    assert caught.value.violations[0].field == "update_mask"
    assert "field_mapping.phone" in caught.value.violations[0].description


async def test_an_unknown_due_date_rule_is_rejected(update_settings: UpdateSettings) -> None:
    bad = SettingsInput(due_date_policy=DueDatePolicyInput("unspecified"))

    with pytest.raises(InvalidValueError) as caught:
        await update_settings.execute(update(bad, "due_date_policy"))

    assert caught.value.violations[0].field == "due_date_policy.rule"


async def test_a_stale_etag_is_a_concurrency_conflict(update_settings: UpdateSettings) -> None:
    first = await update_settings.execute(
        update(SettingsInput(copy_customer_details=True), "copy_customer_details")
    )
    await update_settings.execute(update(SettingsInput(), "copy_customer_details", etag=first.etag))

    with pytest.raises(ConcurrencyConflictError):
        await update_settings.execute(
            update(SettingsInput(), "copy_customer_details", etag=first.etag)
        )


async def test_non_admins_cannot_change_settings(update_settings: UpdateSettings) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        await update_settings.execute(update(SettingsInput(), principal=USER))

    assert caught.value.reason == Reason.ADMIN_REQUIRED


async def test_a_caller_cannot_read_another_companys_settings(get_settings: GetSettings) -> None:
    with pytest.raises(PermissionDeniedError):
        await get_settings.execute(GetSettingsCommand(ADMIN, "2002"))


async def test_a_failed_update_stores_nothing(
    get_settings: GetSettings, update_settings: UpdateSettings
) -> None:
    bad = SettingsInput(default_currency="EURO", copy_customer_details=True)
    with pytest.raises(InvalidValueError):
        await update_settings.execute(update(bad, "default_currency", "copy_customer_details"))

    view = await get_settings.execute(GetSettingsCommand(ADMIN, "1001"))
    assert view.is_default
    assert view.settings.copy_customer_details is False
