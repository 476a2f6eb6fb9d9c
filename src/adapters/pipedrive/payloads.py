"""The vendor JSON this adapter reads by key (API v2 entities, API v1 users/webhooks, OAuth
tokens): the keys the code reads, no more (organizations and persons are read by a table).

Every key is optional (``total=False``): Pipedrive omits keys and sends nulls, so readers use
``.get`` and check types. Numbers are parsed as ``int`` or ``Decimal`` (never ``float``).
Vendor field keys (``org_id``, 40-character custom keys, ``address`` subfields) stay here and in
``mappers.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

Number = int | Decimal


class AddressObject(TypedDict, total=False):
    """v2 ``address`` (organization) and custom address field values."""

    value: str | None
    street_number: str | None
    route: str | None
    subpremise: str | None
    sublocality: str | None
    locality: str | None
    admin_area_level_1: str | None
    admin_area_level_2: str | None
    country: str | None
    postal_code: str | None
    formatted_address: str | None


class ContactItem(TypedDict, total=False):
    """One of a v2 person's ``emails`` / ``phones``."""

    value: str | None
    primary: bool | None


class DealPayload(TypedDict, total=False):
    """``GET /api/v2/deals/{id}`` ``data``."""

    id: int
    title: str
    value: Number | None
    currency: str | None
    org_id: int | None
    person_id: int | None
    status: str | None
    expected_close_date: str | None
    custom_fields: dict[str, Any] | None


class DealProductPayload(TypedDict, total=False):
    """One item of ``GET /api/v2/deals/{id}/products``."""

    product_id: int | None
    name: str | None
    item_price: Number | None
    quantity: Number | None
    discount: Number | None
    discount_type: str | None
    tax: Number | None
    tax_method: str | None
    comments: str | None
    sum: Number | None
    is_enabled: bool | None
    billing_frequency: str | None


class DealDiscountPayload(TypedDict, total=False):
    """One item of ``GET /api/v2/deals/{id}/discounts``."""

    description: str | None
    amount: Number | None
    type: str | None


class FieldPayload(TypedDict, total=False):
    """One item of ``GET /api/v2/{deal,organization,person}Fields``; ``options`` are
    ``{id, label}`` objects, ``subfields`` ``{field_code, ...}`` objects."""

    field_name: str
    field_code: str
    field_type: str
    options: list[Any] | None
    subfields: list[Any] | None
    is_custom_field: bool


class PipelinePayload(TypedDict, total=False):
    """One item of ``GET /api/v2/pipelines`` (getPipelines)."""

    id: int
    name: str
    order_nr: int
    is_deleted: bool


class StagePayload(TypedDict, total=False):
    """One item of ``GET /api/v2/stages`` (getStages)."""

    id: int
    name: str
    order_nr: int
    pipeline_id: int
    is_deleted: bool


class UserPayload(TypedDict, total=False):
    """``GET /api/v1/users/me`` ``data``; ``access`` holds ``{app, admin}`` objects."""

    id: int
    name: str
    email: str
    locale: str | None
    timezone_name: str | None
    is_admin: int | bool | None
    access: list[Any] | None
    company_id: int
    company_name: str
    company_domain: str


class WebhookPayload(TypedDict, total=False):
    """One webhook of ``GET /api/v1/webhooks`` / ``data`` of ``POST /api/v1/webhooks`` (A8)."""

    id: int
    event_action: str
    event_object: str
    subscription_url: str
    version: str
    is_active: int  # 0 or 1
    http_auth_user: str | None
    http_auth_password: str | None
    name: str


class TokenResponse(TypedDict, total=False):
    """``POST /oauth/token``."""

    access_token: str
    expires_in: int
    refresh_token: str
    scope: str
    api_domain: str


class OAuthErrorBody(TypedDict, total=False):
    error: str
    error_description: str
