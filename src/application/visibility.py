"""Pipedrive's deal visibility (issue 16): a user who cannot see a deal in Pipedrive cannot see
or act on its invoices.

Pipedrive answers who may see a deal (``CrmGateway.deal_permitted_users``, its
``permittedUsers``: owner, followers, visibility groups, entire company, as the deal's
``visible_to`` and the company's plan make it), so dealbooks models none of it. Admins see
every deal (Pipedrive's rule), and service or operator tokens act for the company: for them
nothing is read.

One Pipedrive read (10 tokens of the company's daily budget) per check, not cached: a deal's
followers and visibility change in Pipedrive without telling dealbooks (no webhook carries a
follower change), and a cached "yes" would keep showing a deal after it was hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from application.auth import Principal
from application.errors import NotFoundError, PermissionDeniedError
from application.ports.crm import CrmGateway
from application.reasons import MetadataKey, Reason

log = structlog.get_logger("dealbooks.visibility")


def deal_not_visible(company_id: str, deal_id: str) -> PermissionDeniedError:
    # PERMISSION_DENIED, not NOT_FOUND (AIP-211: permission is checked before existence, and
    # the same answer whether or not the deal exists, so it reveals nothing): the user came
    # with the deal's id, and the panel shows its "access denied" state with the reason.
    return PermissionDeniedError(
        "Pipedrive does not show you this deal, so its invoices are hidden from you too.",
        reason=Reason.DEAL_NOT_VISIBLE,
        metadata={MetadataKey.COMPANY: company_id, MetadataKey.DEAL: deal_id},
    )


@dataclass(frozen=True, slots=True)
class DealVisibility:
    crm: CrmGateway

    async def ensure_visible(self, principal: Principal, company_id: str, deal_id: str) -> None:
        """Raise PermissionDeniedError (DEAL_NOT_VISIBLE) unless the caller may see the deal
        in Pipedrive. A deal Pipedrive no longer knows is refused the same way to a non-admin
        (admins keep seeing its invoices). Pipedrive unavailable: the error propagates
        (UNAVAILABLE), nothing is shown on a guess."""
        principal.ensure_can_access(company_id)
        user_id = principal.user_id
        if user_id is None or principal.sees_every_deal:
            return
        try:
            permitted = await self.crm.deal_permitted_users(company_id, deal_id)
        except NotFoundError:
            permitted = frozenset()
        if user_id not in permitted:
            log.info("deal.hidden_from_user", company_id=company_id, deal_id=deal_id)
            raise deal_not_visible(company_id, deal_id)
