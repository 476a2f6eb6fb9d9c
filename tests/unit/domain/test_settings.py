from __future__ import annotations

import dataclasses

import pytest

from domain.due_date_policy import DueDatePolicy
from domain.errors import InvalidValueError
from domain.field_mapping import FieldMapping
from domain.settings import CompanySettings


def test_default_settings_use_the_suggested_mapping_and_seven_days() -> None:
    settings = CompanySettings.default("company-1")
    assert settings.company_id == "company-1"
    assert settings.field_mapping == FieldMapping.default()
    assert settings.due_date_policy == DueDatePolicy.default()
    assert settings.copy_customer_details is False
    assert settings.default_currency is None
    assert settings.version == 0


def test_settings_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CompanySettings.default("c").copy_customer_details = True  # type: ignore[misc]


@pytest.mark.parametrize("currency", ["eur", "ABC", "EURO"])
def test_an_unknown_default_currency_is_rejected(currency: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        dataclasses.replace(CompanySettings.default("c"), default_currency=currency)
    assert [v.field for v in err.value.violations] == ["default_currency"]


def test_a_known_default_currency_is_kept() -> None:
    settings = dataclasses.replace(CompanySettings.default("c"), default_currency="CAD")
    assert settings.default_currency == "CAD"


def test_blank_defaults_count_as_not_set() -> None:
    settings = dataclasses.replace(
        CompanySettings.default("c"), default_currency=" ", default_tax_code="", default_item="  "
    )
    assert (settings.default_currency, settings.default_tax_code, settings.default_item) == (
        None,
        None,
        None,
    )


def test_ids_longer_than_64_characters_are_rejected_all_at_once() -> None:
    with pytest.raises(InvalidValueError) as err:
        CompanySettings(
            company_id="c" * 65,
            field_mapping=FieldMapping.default(),
            due_date_policy=DueDatePolicy.default(),
            default_tax_code="t" * 65,
            default_terms="t" * 65,
            default_item="i" * 65,
        )
    assert [v.field for v in err.value.violations] == [
        "company_id",
        "default_tax_code",
        "default_terms",
        "default_item",
    ]


def test_a_company_id_is_required() -> None:
    with pytest.raises(InvalidValueError) as err:
        CompanySettings.default(" ")
    assert err.value.violations[0].field == "company_id"


def test_a_negative_version_is_rejected() -> None:
    with pytest.raises(InvalidValueError):
        dataclasses.replace(CompanySettings.default("c"), version=-1)
