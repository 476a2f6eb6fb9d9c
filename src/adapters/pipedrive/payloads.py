"""The vendor JSON this adapter reads (API v2 entities, API v1 users/notes, OAuth tokens).

Every key is optional (``total=False``): Pipedrive omits keys and sends nulls, so readers use
``.get`` and check types. Numbers are parsed as ``int`` or ``Decimal`` (never ``float``).
Vendor field keys (``org_id``, 40-character custom keys, ``address`` subfields) stay here and in
``gateway.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

Number = int | Decimal


class Envelope(TypedDict, total=False):
    success: bool
    data: Any
    additional_data: dict[str, Any] | None
    error: str
    error_info: str
    errorCode: int
    message: str
    errors: dict[str, list[str]]


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


class MonetaryValue(TypedDict, total=False):
    value: Number | None
    currency: str | None


class ContactItem(TypedDict, total=False):
    """One of a v2 person's ``emails`` / ``phones``."""

    value: str | None
    primary: bool | None
    label: str | None


class DealPayload(TypedDict, total=False):
    """``GET /api/v2/deals/{id}`` ``data``."""

    id: int
    title: str
    value: Number | None
    currency: str | None
    org_id: int | None
    person_id: int | None
    status: str | None
    is_deleted: bool | None
    is_archived: bool | None
    expected_close_date: str | None
    custom_fields: dict[str, Any] | None


class OrganizationPayload(TypedDict, total=False):
    """``GET /api/v2/organizations/{id}`` ``data``."""

    id: int
    name: str | None
    address: AddressObject | None
    website: str | None
    is_deleted: bool | None
    custom_fields: dict[str, Any] | None


class PersonPayload(TypedDict, total=False):
    """``GET /api/v2/persons/{id}`` ``data``."""

    id: int
    name: str | None
    first_name: str | None
    last_name: str | None
    emails: list[ContactItem] | None
    phones: list[ContactItem] | None
    job_title: str | None
    is_deleted: bool | None
    custom_fields: dict[str, Any] | None


class DealProductPayload(TypedDict, total=False):
    """One item of ``GET /api/v2/deals/{id}/products``."""

    id: int
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
    currency: str | None
    is_enabled: bool | None


class DealDiscountPayload(TypedDict, total=False):
    """One item of ``GET /api/v2/deals/{id}/discounts``."""

    id: str
    description: str | None
    amount: Number | None
    type: str | None
    deal_id: int


class FieldOption(TypedDict, total=False):
    id: int
    label: str


class SubfieldPayload(TypedDict, total=False):
    field_code: str
    field_name: str
    field_type: str


class FieldPayload(TypedDict, total=False):
    """One item of ``GET /api/v2/{deal,organization,person}Fields``."""

    field_name: str
    field_code: str
    field_type: str
    options: list[FieldOption] | None
    subfields: list[SubfieldPayload] | None
    is_custom_field: bool


class UserAccess(TypedDict, total=False):
    app: str
    admin: bool


class UserPayload(TypedDict, total=False):
    """``GET /api/v1/users/me`` ``data``."""

    id: int
    name: str
    email: str
    locale: str | None
    timezone_name: str | None
    is_admin: int | bool | None
    access: list[UserAccess] | None
    company_id: int
    company_name: str
    company_domain: str


class NotePayload(TypedDict, total=False):
    """``POST /api/v1/notes`` ``data`` (what we read of it)."""

    id: int
    deal_id: int | None
    content: str


class WebhookPayload(TypedDict, total=False):
    """One webhook of ``GET /api/v1/webhooks`` / ``data`` of ``POST /api/v1/webhooks`` (A8)."""

    id: int
    company_id: int
    owner_id: int
    user_id: int
    event_action: str
    event_object: str
    subscription_url: str
    version: str
    is_active: int  # 0 or 1
    type: str  # general | application | automation
    http_auth_user: str | None
    http_auth_password: str | None
    name: str


class TokenResponse(TypedDict, total=False):
    """``POST /oauth/token``."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    scope: str
    api_domain: str


class OAuthErrorBody(TypedDict, total=False):
    error: str
    error_description: str
