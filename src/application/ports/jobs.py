"""The job-queue port: durable background work (retried with backoff, survives restarts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class JobQueue(Protocol):
    async def finish_creation(self, company_id: str, invoice_id: str) -> None:
        """Finish a CREATING invoice later (at most one pending job per invoice)."""
        ...

    async def apply_changes(self, realm_id: str, notice_keys: Sequence[str]) -> None:
        """Apply QuickBooks changes recorded under these keys."""
        ...
