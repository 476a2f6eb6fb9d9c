"""An in-memory job queue that records what was deferred (unit tests, dev mode)."""

from __future__ import annotations

from collections.abc import Sequence


class InMemoryJobQueue:
    def __init__(self) -> None:
        self.deferred: list[tuple[str, dict[str, object]]] = []

    async def finish_creation(self, company_id: str, invoice_id: str) -> None:
        job = ("finish_creation", {"company_id": company_id, "invoice_id": invoice_id})
        if job not in self.deferred:  # one pending job per invoice, as the real queue
            self.deferred.append(job)

    async def apply_changes(self, realm_id: str, notice_keys: Sequence[str]) -> None:
        self.deferred.append(("apply_changes", {"realm_id": realm_id, "keys": list(notice_keys)}))
