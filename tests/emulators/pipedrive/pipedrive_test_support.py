"""Helpers shared by the Pipedrive emulator tests (a unique module name: no clash with peers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Receiver:
    """A stand-in for the app's web server: records what the emulator sends it."""

    url: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200
