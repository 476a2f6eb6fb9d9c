"""Views: what use cases return to entrypoints."""

from __future__ import annotations

from dataclasses import dataclass

from domain.settings import CompanySettings


@dataclass(frozen=True, slots=True)
class SettingsView:
    settings: CompanySettings
    etag: str
    is_default: bool


def settings_etag(settings: CompanySettings) -> str:
    return f'"v{settings.version}"'
