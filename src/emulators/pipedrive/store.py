"""In-memory state of the emulated Pipedrive: companies, users, CRM records, OAuth, webhooks.

CRM records are kept in their API v2 shape (the shape the emulator serves), plus the owning
company id alongside.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

ENTITY_KINDS = ("deal", "organization", "person")


@dataclass
class Company:
    id: int
    name: str
    domain: str  # the `{domain}.pipedrive.com` sub-domain
    country: str = "DE"
    industry: str = "IT Services"
    default_currency: str = "EUR"
    # "growth" (Lite/Growth/Professional: visible_to 1 = owner & followers, 3 = entire company)
    # or "premium" (Premium/Ultimate: 1 owner only, 3 owner's visibility group, 5 + sub-groups,
    # 7 entire company), as the `visible_to` descriptions of Pipedrive's OpenAPI files say.
    plan: str = "growth"
    # Visibility groups (premium): name -> parent group name (None: a top-level group).
    visibility_groups: dict[str, str | None] = field(default_factory=dict)
    # Custom permission sets added to the built-in ones (`permission_sets.py`), in the
    # `GET /v1/permissionSets` shape.
    custom_permission_sets: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class User:
    id: int
    company_id: int
    name: str
    email: str
    is_admin: bool
    locale: str  # e.g. "en_US", "fr_FR"
    timezone_name: str
    timezone_offset: str
    default_currency: str
    api_token: str
    created: str
    phone: str | None = None
    visibility_group: str | None = None  # premium plans; None: the company's default group
    sales_permission_set: str | None = None  # a custom sales set; None: the built-in one


@dataclass
class Record:
    """A deal, organization or person: its v2 representation and its company."""

    company_id: int
    data: dict[str, Any]


@dataclass
class DealProduct:
    company_id: int
    data: dict[str, Any]


@dataclass
class Discount:
    company_id: int
    data: dict[str, Any]


@dataclass
class FieldDef:
    """A field definition in the API v2 `dealFields` shape (+ entity kind and company)."""

    company_id: int
    entity: str
    data: dict[str, Any]

    @property
    def key(self) -> str:
        return str(self.data["field_code"])

    @property
    def field_type(self) -> str:
        return str(self.data["field_type"])

    @property
    def is_custom(self) -> bool:
        return bool(self.data["is_custom_field"])


@dataclass
class Note:
    company_id: int
    data: dict[str, Any]


@dataclass
class Webhook:
    company_id: int
    client_id: str | None  # set for app-specific webhooks (created with an OAuth token)
    data: dict[str, Any]


@dataclass
class AccessToken:
    token: str
    company_id: int
    user_id: int
    scopes: tuple[str, ...]
    expires_at: float
    client_id: str
    refresh_token: str | None


@dataclass
class RefreshToken:
    token: str
    company_id: int
    user_id: int
    scopes: tuple[str, ...]
    client_id: str
    expires_at: float  # sliding: extended by 60 days on every use


@dataclass
class AuthorizationCode:
    code: str
    company_id: int
    user_id: int
    client_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class Store:
    companies: dict[int, Company] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    deals: dict[int, Record] = field(default_factory=dict)
    organizations: dict[int, Record] = field(default_factory=dict)
    persons: dict[int, Record] = field(default_factory=dict)
    deal_products: dict[int, DealProduct] = field(default_factory=dict)
    discounts: dict[str, Discount] = field(default_factory=dict)
    fields: list[FieldDef] = field(default_factory=list)
    notes: dict[int, Note] = field(default_factory=dict)
    activities: dict[int, Record] = field(default_factory=dict)  # API v2 shape
    # Pipelines and their stages, API v2 shape (`GET /api/v2/pipelines`, `/stages`). Ids are
    # global across companies, as in Pipedrive.
    pipelines: dict[int, Record] = field(default_factory=dict)
    stages: dict[int, Record] = field(default_factory=dict)
    # deal id -> follower records ({id, user_id, deal_id, add_time}) in the order added
    deal_followers: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: dict[int, Webhook] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    _ids: dict[str, itertools.count[int]] = field(default_factory=dict)

    # Realistic-looking, distinct id ranges per kind.
    _ID_START = {
        "company": 13_000_001,
        "user": 21_000_001,
        "deal": 1,
        "organization": 1,
        "person": 1,
        "deal_product": 1,
        "product": 1,
        "note": 1,
        "follower": 1,
        "activity": 1,
        "pipeline": 1,
        "stage": 1,
        "webhook": 470_001,
        "option": 1,
    }

    def next_id(self, kind: str) -> int:
        if kind not in self._ids:
            self._ids[kind] = itertools.count(self._ID_START.get(kind, 1))
        return next(self._ids[kind])

    def records(self, entity: str) -> dict[int, Record]:
        return {"deal": self.deals, "organization": self.organizations, "person": self.persons}[
            entity
        ]

    def get_record(self, entity: str, company_id: int, record_id: int) -> Record | None:
        record = self.records(entity).get(record_id)
        if record is None or record.company_id != company_id:
            return None
        return record

    def company_fields(self, company_id: int, entity: str) -> list[FieldDef]:
        return [f for f in self.fields if f.company_id == company_id and f.entity == entity]

    def custom_fields(self, company_id: int, entity: str) -> list[FieldDef]:
        return [f for f in self.company_fields(company_id, entity) if f.is_custom]

    def find_field(self, company_id: int, entity: str, key_or_name: str) -> FieldDef | None:
        for candidate in self.company_fields(company_id, entity):
            if key_or_name in (candidate.key, candidate.data["field_name"]):
                return candidate
        return None

    def company_pipelines(self, company_id: int) -> list[Record]:
        """The company's live pipelines, the default (lowest `order_nr`) first."""
        return sorted(
            (
                p
                for p in self.pipelines.values()
                if p.company_id == company_id and not p.data["is_deleted"]
            ),
            key=lambda p: (p.data["order_nr"], p.data["id"]),
        )

    def pipeline_stages(self, pipeline_id: int) -> list[Record]:
        """The pipeline's live stages in board order."""
        return sorted(
            (
                s
                for s in self.stages.values()
                if s.data["pipeline_id"] == pipeline_id and not s.data["is_deleted"]
            ),
            key=lambda s: (s.data["order_nr"], s.data["id"]),
        )

    def get_stage(self, company_id: int, stage_id: int) -> Record | None:
        stage = self.stages.get(stage_id)
        if stage is None or stage.company_id != company_id or stage.data["is_deleted"]:
            return None
        return stage

    def get_pipeline(self, company_id: int, pipeline_id: int) -> Record | None:
        pipeline = self.pipelines.get(pipeline_id)
        if pipeline is None or pipeline.company_id != company_id or pipeline.data["is_deleted"]:
            return None
        return pipeline

    def first_stage(self, company_id: int, pipeline_id: int | None = None) -> Record | None:
        """The first stage of `pipeline_id`, else of the company's default pipeline."""
        if pipeline_id is None:
            pipelines = self.company_pipelines(company_id)
            if not pipelines:
                return None
            pipeline_id = pipelines[0].data["id"]
        stages = self.pipeline_stages(pipeline_id)
        return stages[0] if stages else None

    def users_of(self, company_id: int) -> list[User]:
        return [u for u in self.users.values() if u.company_id == company_id]

    def user_by_api_token(self, token: str) -> User | None:
        for user in self.users.values():
            if secrets.compare_digest(user.api_token, token):
                return user
        return None


def custom_field_key(company_id: int, entity: str, name: str, salt: int) -> str:
    """A 40-hex-character key, like Pipedrive's generated custom field hashes (deterministic)."""
    return hashlib.sha1(f"{company_id}:{entity}:{name}:{salt}".encode()).hexdigest()
