"""Resource names (AIP-122) parsed strictly: a bad name is INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import re

from domain.errors import InvalidValueError

_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}"
_SETTINGS = re.compile(rf"^companies/(?P<company>{_ID})/settings$")


def parse_settings_name(name: str, field: str = "name") -> str:
    """``companies/{company}/settings`` -> company id."""
    match = _SETTINGS.match(name)
    if not match:
        raise InvalidValueError(
            field,
            f"'{name[:80]}' is not a settings name; expected 'companies/{{company}}/settings'.",
        )
    return match["company"]


def settings_name(company_id: str) -> str:
    return f"companies/{company_id}/settings"
