"""An in-memory QuickBooks OAuth authorizer: the AccountingAuthorizer fake."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from application.errors import UpstreamRejectedError
from application.ports.accounting import AccountingCompany
from application.reasons import MetadataKey, Reason
from domain.connection import OAuthTokens


class InMemoryAccountingAuthorizer:
    """Issue codes with :meth:`approve` (as Intuit's consent page would), exchange them once."""

    def __init__(self, *, environment: str = "sandbox", now: datetime | None = None) -> None:
        self.environment = environment
        self.now = now or datetime(2026, 1, 1, tzinfo=UTC)
        self.companies: dict[str, str] = {"9130354840911234": "Fake Books Inc."}
        self.codes: dict[str, str] = {}  # code -> realm id
        self.revoked: list[str] = []
        self.fail_revoke: Exception | None = None
        self.exchanges = 0

    def authorization_url(self, state: str) -> str:
        query = urlencode({"state": state, "scope": "com.intuit.quickbooks.accounting"})
        return f"https://appcenter.intuit.example/connect/oauth2?{query}"

    def approve(self, realm_id: str = "9130354840911234") -> str:
        code = "AB11" + secrets.token_hex(8)
        self.codes[code] = realm_id
        return code

    async def exchange_code(
        self, code: str, realm_id: str
    ) -> tuple[OAuthTokens, AccountingCompany]:
        self.exchanges += 1
        if self.codes.pop(code, None) != realm_id:
            raise UpstreamRejectedError(
                "This QuickBooks sign-in link was already used or has expired; "
                "please try connecting again.",
                reason=Reason.QUICKBOOKS_REJECTED,
                metadata={MetadataKey.VENDOR_CODE: "invalid_grant"},
            )
        tokens = OAuthTokens(
            access_token="access-" + secrets.token_hex(8),
            refresh_token="refresh-" + secrets.token_hex(8),
            access_expires_at=self.now + timedelta(hours=1),
            refresh_expires_at=self.now + timedelta(days=101),
        )
        name = self.companies.get(realm_id, f"Company {realm_id}")
        return tokens, AccountingCompany(realm_id, name, self.environment)

    async def revoke(self, refresh_token: str) -> None:
        if self.fail_revoke is not None:
            raise self.fail_revoke
        self.revoked.append(refresh_token)
