"""The CRM port: what dealbooks needs from Pipedrive, in domain terms.

Every method takes the Pipedrive ``company_id``; the adapter finds that company's connection
(api_domain, tokens) through the ``TokenStore``. Errors as in ``ports.accounting``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final, Protocol

from domain.connection import OAuthTokens
from domain.field_mapping import DealSnapshot, SourceEntity
from domain.invoice_line import DiscountKind, TaxMethod

#: Pipedrive's billing_frequency of a product billed once; any other (weekly ... annually, or
#: one Pipedrive adds) recurs, priced per period.
ONE_TIME: Final = "one-time"


@dataclass(frozen=True, slots=True)
class DealProduct:
    """One product line of a deal, with Pipedrive's semantics (see domain.invoice)."""

    product_id: str
    name: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    discount_kind: DiscountKind = DiscountKind.PERCENTAGE
    tax_rate: Decimal = Decimal(0)
    tax_method: TaxMethod = TaxMethod.NONE
    comments: str = ""
    sum: Decimal | None = None  # Pipedrive's own line total, kept to cross-check ours
    # Pipedrive's billing_frequency (one-time, weekly, monthly, quarterly, semi-annually,
    # annually): an invoice bills one period of a recurring product.
    billing_frequency: str = ONE_TIME


@dataclass(frozen=True, slots=True)
class DealDiscount:
    """A deal-level discount (``/deals/{id}/discounts``); ``amount`` or ``percentage``."""

    description: str
    amount: Decimal
    kind: DiscountKind


@dataclass(frozen=True, slots=True)
class Deal:
    """A deal with what an invoice needs; ``snapshot`` feeds the field mapping."""

    id: str
    title: str
    currency: str
    value: Decimal
    organization_id: str | None
    person_id: str | None
    snapshot: DealSnapshot
    products: tuple[DealProduct, ...] = ()
    discounts: tuple[DealDiscount, ...] = ()
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class WonDeal:
    """A won deal as Pipedrive lists it: what the bulk-invoicing list shows."""

    id: str
    title: str
    value: Decimal
    currency: str
    won_time: datetime


@dataclass(frozen=True, slots=True)
class DealParties:
    """Who a deal is with: what a customer link is remembered for."""

    organization_id: str | None
    person_id: str | None


@dataclass(frozen=True, slots=True)
class CrmField:
    """One field the settings can map: standard or custom, with its type."""

    entity: SourceEntity
    key: str
    name: str
    field_type: str  # Pipedrive's field_type: varchar, address, monetary, enum, set, date ...
    is_custom: bool
    subfields: tuple[str, ...] = ()  # address subfields, monetary currency ...


@dataclass(frozen=True, slots=True)
class CrmUser:
    id: str
    name: str
    email: str
    company_id: str
    company_name: str
    company_domain: str
    is_admin: bool
    locale: str = "en_US"
    time_zone: str = "UTC"
    permission_set_ids: frozenset[str] = frozenset()  # one per Pipedrive app (sales, global...)


@dataclass(frozen=True, slots=True)
class CrmPermissionSet:
    """A Pipedrive permission set: ``app`` (sales, global, account_settings ...) and ``kind``
    (admin, manager, regular, custom) as Pipedrive names them."""

    id: str
    name: str
    app: str
    kind: str


@dataclass(frozen=True, slots=True)
class CrmStage:
    """One stage of a pipeline: ``order`` is its place on the board (1 the leftmost)."""

    id: str
    name: str
    order: int


@dataclass(frozen=True, slots=True)
class CrmPipeline:
    """A pipeline with its stages in board order; ``order`` 0 (the lowest) is the default."""

    id: str
    name: str
    order: int
    stages: tuple[CrmStage, ...] = ()


@dataclass(frozen=True, slots=True)
class CrmInstall:
    """What the install callback learns: the tokens and who installed the app."""

    tokens: OAuthTokens
    api_domain: str
    scopes: tuple[str, ...]
    user: CrmUser


@dataclass(frozen=True, slots=True)
class CrmWebhook:
    """A webhook subscription: Pipedrive POSTs each ``event_action`` (create, change, delete or
    ``*``) on an ``event_object`` (deal, organization, person ... or ``*``) to ``url``, with
    HTTP Basic credentials when given, in the payload format of ``version``."""

    event_action: str
    event_object: str
    url: str
    http_auth_user: str | None = None
    http_auth_password: str | None = field(default=None, repr=False)
    version: str = "2.0"
    name: str = ""
    active: bool = True
    id: str = ""  # given by Pipedrive


@dataclass(frozen=True, slots=True)
class DealFieldKeys:
    """The keys (40-character hashes) of the custom deal fields dealbooks keeps current."""

    invoiced: str
    paid: str
    balance_due: str
    invoice_status: str


@dataclass(frozen=True, slots=True)
class DealInvoiceTotals:
    """What the deal fields say: amounts in ``currency`` (None: the deal has no invoice that
    counts) and the most pressing status ("Overdue", "Partially paid", "Open", "Paid", or
    "" when none)."""

    currency: str | None
    invoiced: Decimal
    paid: Decimal
    balance_due: Decimal
    status: str


class CrmGateway(Protocol):
    async def get_deal(self, company_id: str, deal_id: str) -> Deal:
        """Deal, organization, person, products and deal-level discounts (NotFoundError if gone)."""
        ...

    async def deal_parties(self, company_id: str, deal_id: str) -> DealParties:
        """The deal's organization and person ids: one call, where ``get_deal`` makes several
        (NotFoundError if the deal is gone)."""
        ...

    async def deal_value(self, company_id: str, deal_id: str) -> tuple[Decimal, str]:
        """The deal's value and its currency: one call (NotFoundError if the deal is gone)."""
        ...

    async def won_deals(self, company_id: str, since: datetime, until: datetime) -> list[WonDeal]:
        """The deals won in ``[since, until)`` that are still won, most recently won first."""
        ...

    async def won_deals_among(self, company_id: str, deal_ids: Sequence[str]) -> list[WonDeal]:
        """The deals of ``deal_ids`` that are won (not open, lost or gone), most recently won
        first."""
        ...

    async def list_fields(self, company_id: str) -> list[CrmField]:
        """Organization, person and deal fields, standard and custom (cached briefly)."""
        ...

    async def list_pipelines(self, company_id: str) -> list[CrmPipeline]:
        """The company's pipelines, the default first, each with its stages in board order
        (what the settings name a rule's pipeline and stage by)."""
        ...

    async def add_deal_note(self, company_id: str, deal_id: str, text: str) -> str:
        """Add a note to the deal (``text`` is plain; the adapter HTML-escapes); returns its id."""
        ...

    async def deal_notes(self, company_id: str, deal_id: str) -> list[str]:
        """The deal's notes as plain text, oldest first (to find one already added)."""
        ...

    async def add_deal_activity(self, company_id: str, deal_id: str, text: str) -> str:
        """Add a done activity to the deal: ``text``'s first line its subject, the whole text
        its note (plain; the adapter HTML-escapes); returns its id."""
        ...

    async def deal_activities(self, company_id: str, deal_id: str) -> list[str]:
        """The notes of the deal's done activities as plain text, oldest first."""
        ...

    async def deal_permitted_users(self, company_id: str, deal_id: str) -> frozenset[str]:
        """The ids of the users Pipedrive permits to see the deal (its visibility: owner,
        followers, visibility groups, entire company; NotFoundError if the deal is gone)."""
        ...

    async def list_permission_sets(self, company_id: str) -> list[CrmPermissionSet]:
        """The company's permission sets (``GET /v1/permissionSets``, ``admin`` scope)."""
        ...

    async def current_user(self, company_id: str) -> CrmUser: ...

    async def acting_locale(self, company_id: str) -> str:
        """The locale of the user the app acts as for the company (whose tokens its calls
        use), as of that user's install; asked of Pipedrive for an install made before it
        was kept."""
        ...

    async def get_user(self, company_id: str, user_id: str) -> CrmUser:
        """One user of the company: name, admin or not, locale (NotFoundError if unknown)."""
        ...

    async def ensure_deal_fields(
        self, company_id: str, known: DealFieldKeys | None
    ) -> DealFieldKeys:
        """The four deal fields, each found by its key in ``known``, else by name among the
        company's custom deal fields, else created (monetary Invoiced, Paid, Balance due;
        varchar Invoice status)."""
        ...

    async def set_deal_fields(
        self, company_id: str, deal_id: str, keys: DealFieldKeys, totals: DealInvoiceTotals
    ) -> None:
        """Write the four fields of one deal in one request (NotFoundError if the deal is
        gone)."""
        ...

    async def list_webhooks(self, company_id: str) -> list[CrmWebhook]:
        """The company's webhooks this app subscribed (Pipedrive shows an app only its own)."""
        ...

    async def add_webhook(self, company_id: str, webhook: CrmWebhook) -> CrmWebhook:
        """Subscribe (not idempotent: list first); returns the subscription with its id."""
        ...

    async def delete_webhook(self, company_id: str, webhook_id: str) -> None:
        """Unsubscribe; a subscription already gone is not an error."""
        ...


class CrmAuthorizer(Protocol):
    """Pipedrive marketplace OAuth: code exchange on install, revoke on uninstall, and the
    authorize URL that signs a person in through Pipedrive (QuickBooks' launch and reconnect)."""

    def authorization_url(self, state: str) -> str: ...

    async def exchange_code(self, code: str) -> CrmInstall: ...

    async def revoke(self, refresh_token: str) -> None: ...
