"""What tells an open deal panel that the deal's invoices changed (issue 16's live panel).

Every invoice write announces its deal when it commits, whichever process made it (the API, a
worker applying a QuickBooks webhook); the gateway holds one subscription per open panel and
pushes a "changed" signal down the panel's stream, which then reads the deal's invoices as
usual (one read path: the signal carries no data)."""

from __future__ import annotations

from typing import Protocol


class DealChangesLostError(Exception):
    """The feed stopped (its database connection was lost): the panel falls back to polling
    and opens a new stream later."""


class DealSubscription(Protocol):
    async def changed(self, within: float) -> bool:
        """Wait until the deal changes (True) or ``within`` seconds pass (False). Raises
        DealChangesLostError once the feed has stopped, so that nothing is missed silently."""
        ...

    def close(self) -> None: ...


class DealChanges(Protocol):
    def subscribe(self, company_id: str, deal_id: str) -> DealSubscription:
        """Raises DealChangesLostError while the feed is down."""
        ...
