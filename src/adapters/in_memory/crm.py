"""An in-memory Pipedrive: the CrmGateway fake for use-case tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from application.errors import ApplicationError, NotFoundError, UpstreamRejectedError
from application.ports.crm import (
    CrmField,
    CrmInstall,
    CrmPermissionSet,
    CrmPipeline,
    CrmUser,
    CrmWebhook,
    Deal,
    DealFieldKeys,
    DealInvoiceTotals,
    DealParties,
    WonDeal,
)
from application.reasons import Reason, ResourceType
from domain.field_mapping import SourceEntity


class InMemoryCrmGateway:
    def __init__(self) -> None:
        self.deals: dict[tuple[str, str], Deal] = {}
        self.notes: list[tuple[str, str, str]] = []
        self.activities: list[tuple[str, str, str]] = []  # done activities: company, deal, text
        # The next add_deal_note raises this; after posting the note when ``lost_answer``
        # (Pipedrive created it, the answer never arrived).
        self.note_error: ApplicationError | None = None
        self.lost_answer = False
        self.fields: list[CrmField] = [
            CrmField(SourceEntity.ORGANIZATION, "name", "Name", "varchar", False),
            CrmField(
                SourceEntity.ORGANIZATION,
                "address",
                "Address",
                "address",
                False,
                ("street_number", "route", "locality", "postal_code", "country"),
            ),
            CrmField(SourceEntity.PERSON, "name", "Name", "varchar", False),
            CrmField(SourceEntity.PERSON, "email", "Email", "varchar", False),
            CrmField(SourceEntity.DEAL, "title", "Title", "varchar", False),
        ]
        self.users: dict[str, CrmUser] = {}
        self.webhooks: dict[str, dict[str, CrmWebhook]] = {}  # company -> id -> subscription
        self.webhook_error: ApplicationError | None = None  # raised by the webhook calls when set
        self._next_webhook = 0
        self.deal_field_keys: dict[str, DealFieldKeys] = {}  # company -> its deal fields
        self.deal_fields_created = 0  # how many times the fields were created
        self.deal_field_writes: list[tuple[str, str, DealInvoiceTotals]] = []
        self.deal_fields_error: ApplicationError | None = None  # raised by the next write
        # Deal visibility: the users a deal is restricted to (a deal not listed here is visible
        # to the entire company, i.e. to every id in ``members``), and each permittedUsers read.
        self.members: dict[str, set[str]] = {}  # company -> its users' ids
        self.restricted: dict[tuple[str, str], frozenset[str]] = {}
        self.permitted_reads: list[tuple[str, str]] = []
        self.visibility_error: ApplicationError | None = None  # raised by the reads when set
        self.permission_sets: dict[str, list[CrmPermissionSet]] = {}  # company -> its sets
        self.won: dict[tuple[str, str], datetime] = {}  # (company, deal) -> when it was won
        self.pipelines: dict[str, list[CrmPipeline]] = {}  # company -> its pipelines
        self.pipelines_error: ApplicationError | None = None  # raised by list_pipelines when set

    def add_deal(self, company_id: str, deal: Deal) -> None:
        self.deals[(company_id, deal.id)] = deal

    async def get_deal(self, company_id: str, deal_id: str) -> Deal:
        deal = self.deals.get((company_id, deal_id))
        if deal is None or deal.deleted:
            raise NotFoundError(ResourceType.DEAL, deal_id)
        return deal

    async def deal_parties(self, company_id: str, deal_id: str) -> DealParties:
        deal = await self.get_deal(company_id, deal_id)
        return DealParties(deal.organization_id, deal.person_id)

    async def deal_value(self, company_id: str, deal_id: str) -> tuple[Decimal, str]:
        deal = await self.get_deal(company_id, deal_id)
        return deal.value, deal.currency

    def win_deal(self, company_id: str, deal_id: str, when: datetime) -> None:
        self.won[(company_id, deal_id)] = when

    def _won(self, company_id: str) -> list[WonDeal]:
        """The company's deals still won (as ``GET /api/v2/deals`` has them), newest first."""
        found = [
            WonDeal(deal.id, deal.title, deal.value, deal.currency, when)
            for (company, deal_id), when in self.won.items()
            if company == company_id
            and (deal := self.deals.get((company, deal_id))) is not None
            and not deal.deleted
        ]
        return sorted(found, key=lambda d: (d.won_time, int(d.id)), reverse=True)

    async def won_deals(self, company_id: str, since: datetime, until: datetime) -> list[WonDeal]:
        return [d for d in self._won(company_id) if since <= d.won_time < until]

    async def won_deals_among(self, company_id: str, deal_ids: Sequence[str]) -> list[WonDeal]:
        wanted = set(deal_ids)
        return [d for d in self._won(company_id) if d.id in wanted]

    async def list_fields(self, company_id: str) -> list[CrmField]:
        return list(self.fields)

    async def list_pipelines(self, company_id: str) -> list[CrmPipeline]:
        if self.pipelines_error is not None:
            raise self.pipelines_error
        found = sorted(self.pipelines.get(company_id, []), key=lambda p: (p.order, int(p.id)))
        return [
            replace(p, stages=tuple(sorted(p.stages, key=lambda s: (s.order, int(s.id)))))
            for p in found
        ]

    async def add_deal_note(self, company_id: str, deal_id: str, text: str) -> str:
        await self.get_deal(company_id, deal_id)  # Pipedrive refuses a note on a deal gone
        error, self.note_error = self.note_error, None
        if error is not None and not self.lost_answer:
            raise error
        self.notes.append((company_id, deal_id, text))
        if error is not None:
            raise error
        return str(len(self.notes))

    async def deal_notes(self, company_id: str, deal_id: str) -> list[str]:
        return [t for c, d, t in self.notes if (c, d) == (company_id, deal_id)]

    async def add_deal_activity(self, company_id: str, deal_id: str, text: str) -> str:
        await self.get_deal(company_id, deal_id)
        error, self.note_error = self.note_error, None  # the same faults as notes
        if error is not None and not self.lost_answer:
            raise error
        self.activities.append((company_id, deal_id, text))
        if error is not None:
            raise error
        return str(len(self.activities))

    async def deal_activities(self, company_id: str, deal_id: str) -> list[str]:
        return [t for c, d, t in self.activities if (c, d) == (company_id, deal_id)]

    async def list_permission_sets(self, company_id: str) -> list[CrmPermissionSet]:
        return list(self.permission_sets.get(company_id, []))

    def restrict_deal(self, company_id: str, deal_id: str, user_ids: set[str]) -> None:
        """Only these users (with the deal's owner and followers among them) see the deal."""
        self.restricted[(company_id, deal_id)] = frozenset(user_ids)

    async def deal_permitted_users(self, company_id: str, deal_id: str) -> frozenset[str]:
        self.permitted_reads.append((company_id, deal_id))
        if self.visibility_error is not None:
            raise self.visibility_error
        await self.get_deal(company_id, deal_id)
        admins = {u.id for u in self.users.values() if u.company_id == company_id and u.is_admin}
        restricted = self.restricted.get((company_id, deal_id))
        if restricted is None:
            return frozenset(self.members.get(company_id, set()) | admins)
        return restricted | admins

    async def current_user(self, company_id: str) -> CrmUser:
        return self.users[company_id]

    async def acting_locale(self, company_id: str) -> str:
        return self.users[company_id].locale

    async def get_user(self, company_id: str, user_id: str) -> CrmUser:
        user = self.users.get(company_id)
        if user is None or user.id != user_id:
            raise NotFoundError(ResourceType.USER, user_id)
        return user

    async def ensure_deal_fields(
        self, company_id: str, known: DealFieldKeys | None
    ) -> DealFieldKeys:
        # As Pipedrive's: the fields there are found (by key or name); missing ones are created
        # with new keys (deleted fields come back under other keys).
        existing = self.deal_field_keys.get(company_id)
        if existing is None:
            self.deal_fields_created += 1
            existing = DealFieldKeys(
                *(
                    f"{company_id}-{name}-{self.deal_fields_created}"
                    for name in ("inv", "paid", "bal", "status")
                )
            )
            self.deal_field_keys[company_id] = existing
        return existing

    async def set_deal_fields(
        self, company_id: str, deal_id: str, keys: DealFieldKeys, totals: DealInvoiceTotals
    ) -> None:
        await self.get_deal(company_id, deal_id)
        error, self.deal_fields_error = self.deal_fields_error, None
        if error is not None:
            raise error
        self.deal_field_writes.append((company_id, deal_id, totals))

    async def list_webhooks(self, company_id: str) -> list[CrmWebhook]:
        if self.webhook_error is not None:
            raise self.webhook_error
        return list(self.webhooks.get(company_id, {}).values())

    async def add_webhook(self, company_id: str, webhook: CrmWebhook) -> CrmWebhook:
        if self.webhook_error is not None:
            raise self.webhook_error
        if not webhook.url.startswith(("http://", "https://")):  # as Pipedrive: 400
            raise UpstreamRejectedError(
                "Pipedrive refused the request: invalid or non-reachable URL",
                reason=Reason.PIPEDRIVE_REJECTED,
            )
        self._next_webhook += 1
        added = replace(webhook, id=str(self._next_webhook), active=True)
        self.webhooks.setdefault(company_id, {})[added.id] = added
        return added

    async def delete_webhook(self, company_id: str, webhook_id: str) -> None:
        if self.webhook_error is not None:
            raise self.webhook_error
        self.webhooks.get(company_id, {}).pop(webhook_id, None)


class InMemoryCrmAuthorizer:
    """The CrmAuthorizer fake: ``installs`` maps each valid code to what it yields."""

    def __init__(self) -> None:
        self.installs: dict[str, CrmInstall] = {}
        self.used_codes: set[str] = set()
        self.revoked: list[str] = []
        self.revoke_error: ApplicationError | None = None

    def add_install(self, code: str, install: CrmInstall) -> None:
        self.installs[code] = install

    def authorization_url(self, state: str) -> str:
        return f"https://oauth.pipedrive.example/oauth/authorize?{urlencode({'state': state})}"

    async def exchange_code(self, code: str) -> CrmInstall:
        install = self.installs.get(code)
        if install is None or code in self.used_codes:
            raise UpstreamRejectedError(
                "The Pipedrive authorization code is invalid or has expired; install again.",
                reason=Reason.PIPEDRIVE_REJECTED,
            )
        self.used_codes.add(code)
        return install

    async def revoke(self, refresh_token: str) -> None:
        if self.revoke_error is not None:
            raise self.revoke_error
        self.revoked.append(refresh_token)
