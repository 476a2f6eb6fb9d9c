"""The job-queue port: durable background work (retried with backoff, survives restarts)."""

from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    async def finish_creation(
        self, company_id: str, invoice_id: str, batch_request_id: str | None = None
    ) -> None:
        """Finish a CREATING invoice later (at most one pending job per invoice; for a member
        of a QuickBooks batch, one per batch, run one at a time: each re-sends the whole batch,
        so two at once would spend two of the realm's 40 batch calls a minute on one)."""
        ...

    async def follow_up_on_deal(self, company_id: str, invoice_id: str) -> None:
        """Link the customer and add the note on the deal of a created invoice, later (at most
        one pending job per invoice)."""
        ...

    async def update_deal_timeline(self, company_id: str, invoice_id: str) -> None:
        """Post the invoice's unfinished timeline entries on its deal, later (at most one
        pending job per invoice; never at the same time as its deal follow-up)."""
        ...

    async def update_deal_fields(self, company_id: str, deal_id: str) -> None:
        """Write the deal's invoice totals in its Pipedrive deal fields, later (at most one
        pending job per deal, never two at once: a burst of changes makes one write)."""
        ...

    async def create_deal_fields(self, company_id: str) -> None:
        """Find or create the company's Pipedrive deal fields (at most one pending job per
        company)."""
        ...

    async def run_invoice_rule(self, company_id: str, rule_id: str, deal_id: str) -> None:
        """Create the invoice of a rule's run on a deal (at most one pending job per run,
        never two at once)."""
        ...

    async def subscribe_crm_webhooks(self, company_id: str) -> None:
        """Subscribe the company's Pipedrive webhooks (at most one pending job per company)."""
        ...

    async def purge_company(self, company_id: str) -> None:
        """Forget the company's data now that its purge is due (at most one pending job per
        company)."""
        ...
