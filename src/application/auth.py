"""Who is calling: the principal every command carries, and the tenant check."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import PermissionDeniedError
from application.reasons import MetadataKey, Reason
from domain.permissions import Action, Permissions, Rule


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a service token or a Pipedrive user inside the app.

    ``companies`` is the set of company ids the caller may reach; ``None`` means every company
    (an operator token).
    """

    subject: str
    companies: frozenset[str] | None
    is_admin: bool = False
    name: str | None = None  # as people read it ("Camille Laurent"), when known
    # The Pipedrive user the caller acts as (the UI's JWT); None for service and operator
    # tokens, which act for the company and see every deal.
    user_id: str | None = None
    # The Pipedrive permission sets the user holds (``access[].permission_set_id`` of
    # ``GET /v1/users/{id}``), for the actions a company keeps for named sets.
    permission_sets: frozenset[str] = frozenset()

    @property
    def sees_every_deal(self) -> bool:
        """Whether Pipedrive's deal visibility can hide nothing from this caller: a service
        token, or an admin of the company (Pipedrive shows admins every deal)."""
        return self.user_id is None or self.is_admin

    def can_access(self, company_id: str) -> bool:
        return self.companies is None or company_id in self.companies

    def ensure_can_access(self, company_id: str) -> None:
        # The message does not say whether the company exists: no probing across tenants.
        if not self.can_access(company_id):
            raise PermissionDeniedError(
                f"This caller may not access company {company_id}.",
                metadata={MetadataKey.COMPANY: company_id},
            )

    def ensure_admin(self, company_id: str) -> None:
        self.ensure_can_access(company_id)
        if not self.is_admin:
            raise PermissionDeniedError(
                "Only an admin of the Pipedrive company can change its invoicing settings.",
                reason=Reason.ADMIN_REQUIRED,
                metadata={MetadataKey.COMPANY: company_id},
            )

    def may(self, permissions: Permissions, action: Action) -> bool:
        """Whether the company's permissions let this caller take ``action`` (an operator
        token, for every company, may take any)."""
        return self.companies is None or permissions.allows(
            action, is_admin=self.is_admin, permission_sets=self.permission_sets
        )

    def ensure_may(self, permissions: Permissions, action: Action, company_id: str) -> None:
        if self.may(permissions, action):
            return
        metadata: dict[str, str] = {
            MetadataKey.COMPANY: company_id,
            MetadataKey.ACTION: action.value,
        }
        if permissions.rule(action) is Rule.PERMISSION_SETS:
            raise PermissionDeniedError(
                f"This company's settings keep '{action.value}' for its Pipedrive admins and "
                "the members of chosen Pipedrive permission sets.",
                reason=Reason.PERMISSION_SET_REQUIRED,
                metadata=metadata,
            )
        raise PermissionDeniedError(
            f"This company's settings keep '{action.value}' for its Pipedrive admins.",
            reason=Reason.ADMINS_ONLY,
            metadata=metadata,
        )
