"""An in-memory job queue that records what was deferred (unit tests, dev mode)."""

from __future__ import annotations


class InMemoryJobQueue:
    def __init__(self) -> None:
        self.deferred: list[tuple[str, dict[str, str]]] = []

    def defer(self, task: str, **args: str) -> None:
        """Record the job unless the same one waits already, as the real queue does."""
        if (task, args) not in self.deferred:
            self.deferred.append((task, args))

    async def finish_creation(
        self, company_id: str, invoice_id: str, batch_request_id: str | None = None
    ) -> None:
        batch = {"batch_request_id": batch_request_id} if batch_request_id else {}
        self.defer("finish_creation", company_id=company_id, invoice_id=invoice_id, **batch)

    async def run_invoice_rule(self, company_id: str, rule_id: str, deal_id: str) -> None:
        self.defer("run_invoice_rule", company_id=company_id, rule_id=rule_id, deal_id=deal_id)

    async def subscribe_crm_webhooks(self, company_id: str) -> None:
        self.defer("subscribe_crm_webhooks", company_id=company_id)

    async def follow_up_on_deal(self, company_id: str, invoice_id: str) -> None:
        self.defer("follow_up_on_deal", company_id=company_id, invoice_id=invoice_id)

    async def update_deal_timeline(self, company_id: str, invoice_id: str) -> None:
        self.defer("update_deal_timeline", company_id=company_id, invoice_id=invoice_id)

    async def update_deal_fields(self, company_id: str, deal_id: str) -> None:
        self.defer("update_deal_fields", company_id=company_id, deal_id=deal_id)

    async def create_deal_fields(self, company_id: str) -> None:
        self.defer("create_deal_fields", company_id=company_id)

    async def purge_company(self, company_id: str) -> None:
        self.defer("purge_company", company_id=company_id)

    async def drain(self) -> None:
        """Nothing is queued in the background here."""
