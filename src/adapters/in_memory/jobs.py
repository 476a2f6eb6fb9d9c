"""An in-memory job queue that records what was deferred (unit tests, dev mode)."""

from __future__ import annotations


class InMemoryJobQueue:
    def __init__(self) -> None:
        self.deferred: list[tuple[str, dict[str, object]]] = []

    async def finish_creation(self, company_id: str, invoice_id: str) -> None:
        job = ("finish_creation", {"company_id": company_id, "invoice_id": invoice_id})
        if job not in self.deferred:  # one pending job per invoice, as the real queue
            self.deferred.append(job)

    async def subscribe_crm_webhooks(self, company_id: str) -> None:
        job = ("subscribe_crm_webhooks", {"company_id": company_id})
        if job not in self.deferred:  # one pending job per company, as the real queue
            self.deferred.append(job)

    async def follow_up_on_deal(self, company_id: str, invoice_id: str) -> None:
        job = ("follow_up_on_deal", {"company_id": company_id, "invoice_id": invoice_id})
        if job not in self.deferred:  # one pending job per invoice, as the real queue
            self.deferred.append(job)

    async def drain(self) -> None:
        """Nothing is queued in the background here."""
