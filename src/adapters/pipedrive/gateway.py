"""PipedriveCrmGateway: Pipedrive's JSON (API v2 entities, API v1 users/notes) <-> domain terms.

The snapshot handed to the field mapping is keyed by Pipedrive field keys: standard keys
(``title``, ``value``, ``name``, ``address`` ...) and the 40-character custom keys. A person's
primary email is under ``email`` and primary phone under ``phone`` (Pipedrive's ``emails`` /
``phones`` lists); the field catalogue uses the same keys. Custom values are read by their
declared type: monetary -> Decimal (currency under ``<key>_currency``), address -> Address,
enum/set -> option labels, date -> date, text -> str, numbers -> Decimal.

Mapping is tolerant of missing keys and nulls and strict about types: a core value of the wrong
type (a string where a number is due) is an unexpected answer (UpstreamUnavailableError
``PIPEDRIVE_BAD_RESPONSE``); a custom value that does not fit its field's type is left out (None)
and logged, so one odd custom field does not make a deal unreadable.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

import aiohttp
import structlog

from adapters.pipedrive.client import BAD_RESPONSE, PIPEDRIVE_RATE_LIMIT, PipedriveClient
from adapters.pipedrive.oauth import (
    DEFAULT_OAUTH_URL,
    PipedriveOAuthEndpoint,
    PipedriveTokenProvider,
    user_from_payload,
)
from adapters.pipedrive.payloads import (
    AddressObject,
    ContactItem,
    DealDiscountPayload,
    DealPayload,
    DealProductPayload,
    FieldPayload,
    OrganizationPayload,
    PersonPayload,
    UserPayload,
    WebhookPayload,
)
from application.errors import NotFoundError, UpstreamUnavailableError
from application.ports.clock import Clock
from application.ports.connections import DistributedLock, RateLimit, RateLimiter, TokenStore
from application.ports.crm import (
    CrmField,
    CrmUser,
    CrmWebhook,
    Deal,
    DealDiscount,
    DealParties,
    DealProduct,
)
from domain.customer import Address
from domain.errors import InvalidValueError
from domain.field_mapping import DealSnapshot, FieldValue, SourceEntity
from domain.invoice import DiscountKind, TaxMethod

log = structlog.get_logger("dealbooks.pipedrive")

FIELDS_TTL: Final = timedelta(seconds=60)
PAGE_LIMIT: Final = "500"  # v2 maximum
_NUMERIC_ID = re.compile(r"^[1-9][0-9]{0,18}$")
_FIELD_PATHS: Final = {
    SourceEntity.DEAL: "/api/v2/dealFields",
    SourceEntity.ORGANIZATION: "/api/v2/organizationFields",
    SourceEntity.PERSON: "/api/v2/personFields",
}
# Standard fields the snapshot carries (v2 field_code -> snapshot key); custom ones always.
_STANDARD_KEYS: Final[Mapping[SourceEntity, Mapping[str, str]]] = {
    SourceEntity.DEAL: {
        "title": "title",
        "value": "value",
        "status": "status",
        "expected_close_date": "expected_close_date",
    },
    SourceEntity.ORGANIZATION: {"name": "name", "address": "address", "website": "website"},
    SourceEntity.PERSON: {
        "name": "name",
        "first_name": "first_name",
        "last_name": "last_name",
        "emails": "email",
        "email": "email",
        "phones": "phone",
        "phone": "phone",
        "job_title": "job_title",
    },
}
_TEXT_TYPES: Final = frozenset({"varchar", "varchar_auto", "varchar_options", "text", "phone"})
_NUMBER_TYPES: Final = frozenset({"double", "int"})
_REFERENCE_TYPES: Final = frozenset({"user", "org", "people", "deal", "deals", "lead", "project"})

T = TypeVar("T")


class PayloadError(ValueError):
    """Pipedrive sent a value of an unexpected type."""


def bad_response(message: str) -> UpstreamUnavailableError:
    return UpstreamUnavailableError(
        f"Pipedrive sent an unexpected answer: {message}",
        reason=BAD_RESPONSE,
        metadata={"detail": message[:300]},
    )


# --------------------------------------------------------------------------- value readers


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PayloadError(f"{name} must be a number, not {type(value).__name__}")
    if isinstance(value, float):  # only when parsed without parse_float=Decimal
        return Decimal(repr(value))
    return Decimal(value)


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{name} must be text, not {type(value).__name__}")
    return value


def _date(value: Any, name: str) -> date | None:
    text = _text(value, name)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise PayloadError(f"{name} must be a date (YYYY-MM-DD)") from exc


def _int_id(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{name} must be an integer id")
    return value


def _route_first(parts: AddressObject) -> bool:
    """True where the street name precedes the number ("Friedrichstraße 68")."""
    route = parts.get("route") or ""
    full = parts.get("formatted_address") or parts.get("value") or ""
    return bool(route) and isinstance(full, str) and full.strip().startswith(route)


def address_from_payload(value: Any, name: str = "address") -> Address | None:
    """A v2 address object (or a bare string) -> Address; None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return Address(formatted=value) if value.strip() else None
    if not isinstance(value, dict):
        raise PayloadError(f"{name} must be an address object")
    parts = cast(AddressObject, value)
    text: dict[str, str] = {}
    for key in AddressObject.__annotations__:
        raw = parts.get(key)
        text[key] = (_text(raw, f"{name}.{key}") or "").strip()
    number, route = text["street_number"], text["route"]
    line1 = " ".join(p for p in ((route, number) if _route_first(parts) else (number, route)) if p)
    try:
        address = Address(
            line1=line1,
            line2=text["subpremise"],
            city=text["locality"] or text["sublocality"] or text["admin_area_level_2"],
            region=text["admin_area_level_1"],
            postal_code=text["postal_code"],
            country=text["country"],
            formatted=text["formatted_address"] or text["value"],
        )
    except InvalidValueError as exc:
        raise PayloadError(f"{name}: {exc}") from exc
    return None if address.is_empty() else address


def primary_item(items: Any, name: str) -> str | None:
    """The ``primary`` item's value of a v2 ``emails``/``phones`` list, else the first one."""
    if items is None:
        return None
    if not isinstance(items, list):
        raise PayloadError(f"{name} must be a list")
    values: list[tuple[bool, str]] = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadError(f"{name} items must be objects")
        entry = cast(ContactItem, item)
        text = _text(entry.get("value"), f"{name}.value")
        if text and text.strip():
            values.append((entry.get("primary") is True, text.strip()))
    primary = [v for is_primary, v in values if is_primary]
    if primary:
        return primary[0]
    return values[0][1] if values else None


def _option_labels(definition: FieldPayload | None) -> dict[int, str]:
    options = (definition or {}).get("options") or []
    return {
        o["id"]: o["label"]
        for o in options
        if isinstance(o, dict) and isinstance(o.get("id"), int) and isinstance(o.get("label"), str)
    }


def _option_label(value: Any, labels: Mapping[int, str], name: str) -> str:
    if isinstance(value, dict):  # include_option_labels=true shape: {"id", "label"}
        label = value.get("label")
        if isinstance(label, str):
            return label
        value = value.get("id")
    if isinstance(value, str) and value.isdigit():  # v1 style "123"
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{name} must be an option id")
    if value not in labels:
        raise PayloadError(f"{name}: option {value} is not among the field's options")
    return labels[value]


def custom_values(
    custom_fields: Any, definitions: Mapping[str, FieldPayload], entity: SourceEntity
) -> dict[str, FieldValue]:
    """``custom_fields`` of a v2 entity -> snapshot values, read by each field's type."""
    if custom_fields is None:
        return {}
    if not isinstance(custom_fields, dict):
        raise PayloadError("custom_fields must be an object")
    values: dict[str, FieldValue] = {}
    for key, raw in custom_fields.items():
        definition = definitions.get(key)
        field_type = (definition or {}).get("field_type") or _guess_type(raw)
        try:
            values.update(_custom_value(key, field_type, raw, definition))
        except PayloadError as exc:
            log.warning(
                "pipedrive.field_value_ignored",
                entity=entity.value,
                field_key=key,
                field_type=field_type,
                problem=str(exc),
            )
            values[key] = None
    return values


def _guess_type(raw: Any) -> str:
    if isinstance(raw, dict):
        if "currency" in raw:
            return "monetary"
        if "until" in raw:
            return "daterange"
        return "address" if {"route", "locality", "country"} & set(raw) else "unknown"
    if isinstance(raw, bool):
        return "unknown"
    if isinstance(raw, int | float | Decimal):
        return "double"
    return "varchar" if isinstance(raw, str) else "unknown"


def _custom_value(
    key: str, field_type: str, raw: Any, definition: FieldPayload | None
) -> dict[str, FieldValue]:
    if field_type == "monetary":
        if raw is None:
            return {key: None, f"{key}_currency": None}
        if not isinstance(raw, dict):
            raise PayloadError("a monetary value must be an object {value, currency}")
        money = cast(Mapping[str, Any], raw)
        return {
            key: _decimal(money.get("value"), key),
            f"{key}_currency": _text(money.get("currency"), f"{key}_currency"),
        }
    if raw is None:
        return {key: None}
    if field_type == "address":
        return {key: address_from_payload(raw, key)}
    if field_type == "enum":
        return {key: _option_label(raw, _option_labels(definition), key)}
    if field_type == "set":
        if not isinstance(raw, list):
            raise PayloadError("a set value must be a list of option ids")
        labels = _option_labels(definition)
        return {key: ", ".join(_option_label(v, labels, key) for v in raw) or None}
    if field_type == "date":
        return {key: _date(raw, key)}
    if field_type in ("daterange", "time", "timerange"):
        if not isinstance(raw, dict):
            raise PayloadError(f"a {field_type} value must be an object")
        span = cast(Mapping[str, Any], raw)
        if field_type == "daterange":
            return {
                key: _date(span.get("value"), key),
                f"{key}_until": _date(span.get("until"), key),
            }
        return {key: _text(span.get("value"), key)}
    if field_type in _TEXT_TYPES:
        return {key: _text(raw, key)}
    if field_type in _NUMBER_TYPES:
        return {key: _decimal(raw, key)}
    if field_type in _REFERENCE_TYPES:
        if isinstance(raw, dict):
            raw = raw.get("value", raw.get("id"))
        return {key: str(_int_id(raw, key))}
    if isinstance(raw, str):
        return {key: raw}
    if isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        return {key: Decimal(raw)}
    raise PayloadError(f"values of type {field_type!r} are not read")


# --------------------------------------------------------------------------- entities


def _definitions_by_key(definitions: Sequence[FieldPayload]) -> dict[str, FieldPayload]:
    return {d["field_code"]: d for d in definitions if isinstance(d.get("field_code"), str)}


def deal_values(data: DealPayload, definitions: Sequence[FieldPayload]) -> dict[str, FieldValue]:
    values: dict[str, FieldValue] = {
        "title": _text(data.get("title"), "title"),
        "value": _decimal(data.get("value"), "value"),
        "currency": _text(data.get("currency"), "currency"),
        "status": _text(data.get("status"), "status"),
        "expected_close_date": _date(data.get("expected_close_date"), "expected_close_date"),
    }
    values.update(
        custom_values(
            data.get("custom_fields"), _definitions_by_key(definitions), SourceEntity.DEAL
        )
    )
    return values


def organization_values(
    data: OrganizationPayload, definitions: Sequence[FieldPayload]
) -> dict[str, FieldValue]:
    values: dict[str, FieldValue] = {
        "name": _text(data.get("name"), "name"),
        "address": address_from_payload(data.get("address")),
        "website": _text(data.get("website"), "website"),
    }
    values.update(
        custom_values(
            data.get("custom_fields"),
            _definitions_by_key(definitions),
            SourceEntity.ORGANIZATION,
        )
    )
    return values


def person_values(
    data: PersonPayload, definitions: Sequence[FieldPayload]
) -> dict[str, FieldValue]:
    values: dict[str, FieldValue] = {
        "name": _text(data.get("name"), "name"),
        "first_name": _text(data.get("first_name"), "first_name"),
        "last_name": _text(data.get("last_name"), "last_name"),
        "email": primary_item(data.get("emails"), "emails"),
        "phone": primary_item(data.get("phones"), "phones"),
        "job_title": _text(data.get("job_title"), "job_title"),
    }
    values.update(
        custom_values(
            data.get("custom_fields"), _definitions_by_key(definitions), SourceEntity.PERSON
        )
    )
    return values


def product_from_payload(data: DealProductPayload) -> DealProduct:
    product_id = _int_id(data.get("product_id"), "product_id")
    discount_type = _text(data.get("discount_type"), "discount_type") or "percentage"
    tax_method = _text(data.get("tax_method"), "tax_method") or "none"
    try:
        kind, method = DiscountKind(discount_type), TaxMethod(tax_method)
    except ValueError as exc:
        raise PayloadError(str(exc)) from exc
    quantity = _decimal(data.get("quantity"), "quantity")
    return DealProduct(
        product_id=str(product_id) if product_id is not None else "",
        name=_text(data.get("name"), "name") or "",
        quantity=Decimal(1) if quantity is None else quantity,
        unit_price=_decimal(data.get("item_price"), "item_price") or Decimal(0),
        discount=_decimal(data.get("discount"), "discount") or Decimal(0),
        discount_kind=kind,
        tax_rate=_decimal(data.get("tax"), "tax") or Decimal(0),
        tax_method=method,
        comments=_text(data.get("comments"), "comments") or "",
        sum=_decimal(data.get("sum"), "sum"),
    )


def discount_from_payload(data: DealDiscountPayload) -> DealDiscount:
    kind_text = _text(data.get("type"), "type") or "amount"
    try:
        kind = DiscountKind(kind_text)
    except ValueError as exc:
        raise PayloadError(str(exc)) from exc
    return DealDiscount(
        description=_text(data.get("description"), "description") or "",
        amount=_decimal(data.get("amount"), "amount") or Decimal(0),
        kind=kind,
    )


def is_deleted(data: Mapping[str, Any]) -> bool:
    return data.get("is_deleted") is True or data.get("status") == "deleted"


def deal_from_payloads(
    deal: DealPayload,
    organization: OrganizationPayload | None,
    person: PersonPayload | None,
    products: Sequence[DealProductPayload],
    discounts: Sequence[DealDiscountPayload],
    fields: Mapping[SourceEntity, Sequence[FieldPayload]],
) -> Deal:
    """Pure: the vendor payloads of one deal -> Deal (raises PayloadError on wrong types)."""
    deal_id = _int_id(deal.get("id"), "id")
    if deal_id is None:
        raise PayloadError("the deal has no id")
    org_id = _int_id(deal.get("org_id"), "org_id")
    person_id = _int_id(deal.get("person_id"), "person_id")
    deal_fields = deal_values(deal, fields.get(SourceEntity.DEAL, ()))
    snapshot = DealSnapshot(
        deal=deal_fields,
        organization=(
            organization_values(organization, fields.get(SourceEntity.ORGANIZATION, ()))
            if organization is not None
            else None
        ),
        person=(
            person_values(person, fields.get(SourceEntity.PERSON, ()))
            if person is not None
            else None
        ),
    )
    value = deal_fields["value"]
    return Deal(
        id=str(deal_id),
        title=_text(deal.get("title"), "title") or "",
        currency=_text(deal.get("currency"), "currency") or "",
        value=value if isinstance(value, Decimal) else Decimal(0),
        organization_id=str(org_id) if org_id is not None else None,
        person_id=str(person_id) if person_id is not None else None,
        snapshot=snapshot,
        products=tuple(
            product_from_payload(p) for p in products if p.get("is_enabled") is not False
        ),
        discounts=tuple(discount_from_payload(d) for d in discounts),
        deleted=is_deleted(deal),
    )


def crm_fields_from_payloads(
    entity: SourceEntity, definitions: Sequence[FieldPayload]
) -> list[CrmField]:
    """Field definitions -> the fields the settings can map (custom ones and our standard keys)."""
    standard = _STANDARD_KEYS[entity]
    fields: list[CrmField] = []
    seen: set[str] = set()
    for definition in definitions:
        code = definition.get("field_code")
        name = definition.get("field_name")
        field_type = definition.get("field_type")
        if not isinstance(code, str) or not isinstance(field_type, str):
            continue
        is_custom = definition.get("is_custom_field") is True
        key = code if is_custom else standard.get(code)
        if key is None or key in seen:
            continue
        seen.add(key)
        subfields = tuple(
            s["field_code"]
            for s in (definition.get("subfields") or [])
            if isinstance(s, dict) and isinstance(s.get("field_code"), str)
        )
        fields.append(
            CrmField(
                entity=entity,
                key=key,
                name=name if isinstance(name, str) else key,
                field_type=field_type,
                is_custom=is_custom,
                subfields=subfields,
            )
        )
    return fields


# --------------------------------------------------------------------------- the gateway


@dataclass
class _CachedFields:
    expires_at: datetime
    definitions: dict[SourceEntity, list[FieldPayload]]


def webhook_from_payload(data: WebhookPayload) -> CrmWebhook:
    webhook_id = _int_id(data.get("id"), "id")
    if webhook_id is None:
        raise PayloadError("a webhook without an id")
    active = data.get("is_active")
    return CrmWebhook(
        event_action=_text(data.get("event_action"), "event_action") or "",
        event_object=_text(data.get("event_object"), "event_object") or "",
        url=_text(data.get("subscription_url"), "subscription_url") or "",
        http_auth_user=_text(data.get("http_auth_user"), "http_auth_user"),
        http_auth_password=_text(data.get("http_auth_password"), "http_auth_password"),
        version=_text(data.get("version"), "version") or "",
        name=_text(data.get("name"), "name") or "",
        # numberBooleanDefault1 in the spec (0 or 1); a boolean is read the same way.
        active=active is None or (active is not False and active != 0),
        id=str(webhook_id),
    )


async def _all(*awaitables: Awaitable[Any]) -> list[Any]:
    """Run concurrently; wait for all; re-raise the first failure (no orphaned tasks)."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)


def _checked_id(kind: str, value: str) -> str:
    if not _NUMERIC_ID.match(value):
        raise NotFoundError(kind, value)
    return value


class PipedriveCrmGateway:
    """CrmGateway over Pipedrive's API, one instance (and one ClientSession) per process."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token_store: TokenStore,
        lock: DistributedLock,
        rate_limiter: RateLimiter,
        clock: Clock,
        oauth_url: str = DEFAULT_OAUTH_URL,
        client_id: str = "",
        client_secret: str = "",
        *,
        rate_limit: RateLimit = PIPEDRIVE_RATE_LIMIT,
        timeout: aiohttp.ClientTimeout | None = None,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        fields_ttl: timedelta = FIELDS_TTL,
    ) -> None:
        endpoint = PipedriveOAuthEndpoint(session, oauth_url, client_id, client_secret)
        self._tokens = PipedriveTokenProvider(endpoint, token_store, lock, clock)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self._client = PipedriveClient(
            session,
            self._tokens,
            rate_limiter,
            rate_limit=rate_limit,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            **extra,
        )
        self._clock = clock
        self._fields_ttl = fields_ttl
        self._fields: dict[str, _CachedFields] = {}
        self._fields_locks: dict[str, asyncio.Lock] = {}

    # ----------------------------------------------------------------- reads

    async def _get_data(
        self, company_id: str, path: str, resource: tuple[str, str] | None = None
    ) -> Any:
        body = await self._client.request(company_id, "GET", path, resource=resource)
        return body.get("data")

    async def _get_pages(self, company_id: str, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(1000):  # a guard against a cursor that never ends
            params = {"limit": PAGE_LIMIT}
            if cursor:
                params["cursor"] = cursor
            body = await self._client.request(company_id, "GET", path, params=params)
            data = body.get("data") or []
            if not isinstance(data, list):
                raise bad_response(f"{path} did not answer a list")
            items.extend(d for d in data if isinstance(d, dict))
            additional = body.get("additional_data") or {}
            cursor = additional.get("next_cursor") if isinstance(additional, dict) else None
            if not cursor:
                return items
        raise bad_response(f"{path} paginates without end")

    async def _optional(
        self, company_id: str, path: str, kind: str, entity_id: int | None
    ) -> dict[str, Any] | None:
        """An organization/person linked to the deal; None when there is none or it is gone."""
        if entity_id is None:
            return None
        try:
            data = await self._get_data(company_id, path, (kind, str(entity_id)))
        except NotFoundError:
            return None
        if not isinstance(data, dict) or is_deleted(data):
            return None
        return data

    async def _definitions(self, company_id: str) -> dict[SourceEntity, list[FieldPayload]]:
        cached = self._fields.get(company_id)
        if cached is not None and cached.expires_at > self._clock.now():
            return cached.definitions
        lock = self._fields_locks.setdefault(company_id, asyncio.Lock())
        async with lock:  # one reader per company per process; the others use its result
            cached = self._fields.get(company_id)
            if cached is not None and cached.expires_at > self._clock.now():
                return cached.definitions
            entities = list(_FIELD_PATHS)
            pages = await _all(*(self._get_pages(company_id, _FIELD_PATHS[e]) for e in entities))
            definitions = {
                entity: [cast(FieldPayload, d) for d in page]
                for entity, page in zip(entities, pages, strict=True)
            }
            self._fields[company_id] = _CachedFields(
                self._clock.now() + self._fields_ttl, definitions
            )
            return definitions

    async def _deal_data(self, company_id: str, deal_id: str) -> tuple[Any, int | None, int | None]:
        data = await self._get_data(company_id, f"/api/v2/deals/{deal_id}", ("deal", deal_id))
        if not isinstance(data, dict):
            raise bad_response("the deal is not an object")
        if is_deleted(data):
            raise NotFoundError("deal", deal_id)
        try:
            org_id = _int_id(data.get("org_id"), "org_id")
            person_id = _int_id(data.get("person_id"), "person_id")
        except PayloadError as exc:
            raise bad_response(str(exc)) from exc
        return data, org_id, person_id

    async def deal_parties(self, company_id: str, deal_id: str) -> DealParties:
        deal_id = _checked_id("deal", deal_id)
        _, org_id, person_id = await self._deal_data(company_id, deal_id)
        return DealParties(
            str(org_id) if org_id is not None else None,
            str(person_id) if person_id is not None else None,
        )

    async def get_deal(self, company_id: str, deal_id: str) -> Deal:
        deal_id = _checked_id("deal", deal_id)
        # The deal first: it names its organization and person, and a missing or deleted deal
        # should not spend the 20 tokens its products and discounts cost.
        data, org_id, person_id = await self._deal_data(company_id, deal_id)
        organization, person, products, discounts, fields = await _all(
            self._optional(company_id, f"/api/v2/organizations/{org_id}", "organization", org_id),
            self._optional(company_id, f"/api/v2/persons/{person_id}", "person", person_id),
            self._get_pages(company_id, f"/api/v2/deals/{deal_id}/products"),
            self._get_data(company_id, f"/api/v2/deals/{deal_id}/discounts", ("deal", deal_id)),
            self._definitions(company_id),
        )
        if discounts is not None and not isinstance(discounts, list):
            raise bad_response("the deal's discounts are not a list")
        try:
            return deal_from_payloads(
                cast(DealPayload, data),
                cast(OrganizationPayload | None, organization),
                cast(PersonPayload | None, person),
                cast(list[DealProductPayload], products),
                [cast(DealDiscountPayload, d) for d in discounts or [] if isinstance(d, dict)],
                fields,
            )
        except PayloadError as exc:
            log.warning("pipedrive.deal_unreadable", company_id=company_id, deal_id=deal_id)
            raise bad_response(str(exc)) from exc

    async def list_fields(self, company_id: str) -> list[CrmField]:
        definitions = await self._definitions(company_id)
        return [
            field
            for entity in (SourceEntity.ORGANIZATION, SourceEntity.PERSON, SourceEntity.DEAL)
            for field in crm_fields_from_payloads(entity, definitions.get(entity, []))
        ]

    # ----------------------------------------------------------------- writes

    async def add_deal_note(self, company_id: str, deal_id: str, text: str) -> str:
        deal_id = _checked_id("deal", deal_id)
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        content = "<br>".join(html.escape(line, quote=True) for line in lines)
        body = await self._client.request(
            company_id,
            "POST",
            "/api/v1/notes",
            json_body={"deal_id": int(deal_id), "content": content},
            resource=("deal", deal_id),
        )
        data = body.get("data")
        note_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(note_id, bool) or not isinstance(note_id, int):
            raise bad_response("the new note has no id")
        log.info("pipedrive.note_added", company_id=company_id, deal_id=deal_id, note_id=note_id)
        return str(note_id)

    async def deal_notes(self, company_id: str, deal_id: str) -> list[str]:
        deal_id = _checked_id("deal", deal_id)
        texts: list[str] = []
        start = 0
        for _ in range(1000):  # a guard against pagination that never ends
            body = await self._client.request(
                company_id,
                "GET",
                "/api/v1/notes",
                params={"deal_id": deal_id, "start": str(start), "limit": "500", "sort": "id ASC"},
                resource=("deal", deal_id),
            )
            data = body.get("data") or []  # v1 answers `data: null` when nothing matches
            if not isinstance(data, list):
                raise bad_response("the deal's notes are not a list")
            for note in data:
                content = note.get("content") if isinstance(note, dict) else None
                if isinstance(content, str):
                    texts.append(html.unescape(re.sub(r"<br\s*/?>", "\n", content)))
            pagination = (body.get("additional_data") or {}).get("pagination") or {}
            next_start = pagination.get("next_start")
            if not pagination.get("more_items_in_collection") or not isinstance(next_start, int):
                break
            start = next_start
        return texts

    async def current_user(self, company_id: str) -> CrmUser:
        data = await self._get_data(company_id, "/api/v1/users/me")
        if not isinstance(data, dict):
            raise bad_response("users/me is not an object")
        return user_from_payload(cast(UserPayload, data))

    async def get_user(self, company_id: str, user_id: str) -> CrmUser:
        if not user_id.isdigit():
            raise NotFoundError("user", user_id)
        data = await self._get_data(company_id, f"/api/v1/users/{user_id}", ("user", user_id))
        if not isinstance(data, dict):
            raise bad_response("users/{id} is not an object")
        # `GET /users/{id}` has no company fields (BaseUser): the company is the caller's.
        return user_from_payload(cast(UserPayload, {"company_id": int(company_id), **data}))

    # ----------------------------------------------------------------- webhooks (API v1)

    async def list_webhooks(self, company_id: str) -> list[CrmWebhook]:
        data = await self._get_data(company_id, "/api/v1/webhooks")  # not paginated
        if data is None:
            return []
        if not isinstance(data, list):
            raise bad_response("the webhooks are not a list")
        try:
            return [
                webhook_from_payload(cast(WebhookPayload, d)) for d in data if isinstance(d, dict)
            ]
        except PayloadError as exc:
            raise bad_response(str(exc)) from exc

    async def add_webhook(self, company_id: str, webhook: CrmWebhook) -> CrmWebhook:
        # No user_id: Pipedrive authorizes the webhook with the token's user, the admin who
        # installed the app, so deliveries are filtered by that user's permissions [C].
        body = await self._client.request(
            company_id,
            "POST",
            "/api/v1/webhooks",
            json_body={
                "subscription_url": webhook.url,
                "event_action": webhook.event_action,
                "event_object": webhook.event_object,
                "name": webhook.name or f"dealbooks {webhook.event_action}.{webhook.event_object}",
                "http_auth_user": webhook.http_auth_user,
                "http_auth_password": webhook.http_auth_password,
                "version": webhook.version,
            },
        )
        data = body.get("data")
        if not isinstance(data, dict):
            raise bad_response("the new webhook is not an object")
        try:
            added = webhook_from_payload(cast(WebhookPayload, data))
        except PayloadError as exc:
            raise bad_response(str(exc)) from exc
        log.info(
            "pipedrive.webhook_added",
            company_id=company_id,
            webhook_id=added.id,
            subscribed=f"{added.event_action}.{added.event_object}",
        )
        return added

    async def delete_webhook(self, company_id: str, webhook_id: str) -> None:
        if not _NUMERIC_ID.match(webhook_id):
            return  # no such id can exist: already gone
        try:
            await self._client.request(
                company_id,
                "DELETE",
                f"/api/v1/webhooks/{webhook_id}",
                resource=("webhook", webhook_id),
            )
        except NotFoundError:
            return
        log.info("pipedrive.webhook_deleted", company_id=company_id, webhook_id=webhook_id)
