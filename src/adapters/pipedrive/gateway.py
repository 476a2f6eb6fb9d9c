"""PipedriveCrmGateway: the CRM port over Pipedrive (vendor JSON <-> domain in ``mappers``;
requests through the injected ``PipedriveClient``)."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, cast

import structlog

from adapters.pipedrive.client import PipedriveClient
from adapters.pipedrive.mappers import (
    PayloadError,
    crm_fields_from_payloads,
    deal_from_payloads,
    deal_value_of,
    id_text,
    is_deleted,
    pipelines_from_payloads,
    webhook_from_payload,
    won_deal_of,
)
from adapters.pipedrive.oauth import user_from_payload
from adapters.pipedrive.payloads import (
    DealDiscountPayload,
    DealPayload,
    DealProductPayload,
    FieldPayload,
    PipelinePayload,
    StagePayload,
    UserPayload,
    WebhookPayload,
)
from adapters.vendor_http.cache import CompanyCache
from application.errors import NotFoundError, UpstreamUnavailableError
from application.ports.clock import Clock
from application.ports.crm import (
    CrmField,
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
from application.reasons import MetadataKey, Reason, ResourceType
from domain.field_mapping import SourceEntity

log = structlog.get_logger("dealbooks.pipedrive")

FIELDS_TTL: Final = timedelta(seconds=60)
PAGE_LIMIT: Final = "500"  # v2 maximum
IDS_PER_CALL: Final = 100  # `ids` takes "up to 100 entity ids" (v2 spec, getDeals)
ACTIVITY_SUBJECT_MAX: Final = 255  # [U]: the spec gives no maximum; a one-line subject
_NUMERIC_ID = re.compile(r"^[1-9][0-9]{0,18}$")
_FIELD_PATHS: Final = {
    SourceEntity.DEAL: "/api/v2/dealFields",
    SourceEntity.ORGANIZATION: "/api/v2/organizationFields",
    SourceEntity.PERSON: "/api/v2/personFields",
}

# The deal fields dealbooks keeps current (issue 16): name and Pipedrive field type, by the
# attribute of DealFieldKeys that holds each one's key.
DEAL_FIELDS: Final = {
    "invoiced": ("Invoiced", "monetary"),
    "paid": ("Paid", "monetary"),
    "balance_due": ("Balance due", "monetary"),
    "invoice_status": ("Invoice status", "varchar"),
}


def bad_response(message: str) -> UpstreamUnavailableError:
    return UpstreamUnavailableError(
        f"Pipedrive sent an unexpected answer: {message}",
        reason=Reason.PIPEDRIVE_BAD_RESPONSE,
        metadata={MetadataKey.DETAIL: message[:300]},
    )


# --------------------------------------------------------------------------- the gateway


async def _all(*awaitables: Awaitable[Any]) -> list[Any]:
    """Run concurrently; wait for all; re-raise the first failure (no orphaned tasks)."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return list(results)


def _newest_won(deals: list[dict[str, Any]]) -> list[WonDeal]:
    """The won ones of ``GET /api/v2/deals`` items, most recently won first."""
    try:
        found = [d for d in map(won_deal_of, deals) if d is not None]
    except PayloadError as exc:
        raise bad_response(str(exc)) from exc
    return sorted(found, key=lambda d: (d.won_time, int(d.id)), reverse=True)


def _checked_id(kind: ResourceType, value: str) -> str:
    if not _NUMERIC_ID.match(value):
        raise NotFoundError(kind, value)
    return value


class PipedriveCrmGateway:
    """CrmGateway over Pipedrive's API, one instance (and one ClientSession) per process."""

    def __init__(self, client: PipedriveClient, clock: Clock) -> None:
        self._client = client
        self._fields: CompanyCache[dict[SourceEntity, list[FieldPayload]]] = CompanyCache(
            clock, FIELDS_TTL
        )

    # ----------------------------------------------------------------- reads

    async def _get_data(
        self, company_id: str, path: str, resource: tuple[ResourceType, str] | None = None
    ) -> Any:
        body = await self._client.request(company_id, "GET", path, resource=resource)
        return body.get("data")

    async def _get_pages(
        self, company_id: str, path: str, query: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(1000):  # a guard against a cursor that never ends
            params: dict[str, Any] = {**(query or {}), "limit": PAGE_LIMIT}
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
        self, company_id: str, kind: str, entity_id: str | None
    ) -> dict[str, Any] | None:
        """An organization/person linked to the deal; None when there is none or it is gone
        (its 404 never leaves here, so it needs no resource type of its own)."""
        if entity_id is None:
            return None
        try:
            data = await self._get_data(company_id, f"/api/v2/{kind}/{entity_id}")
        except NotFoundError:
            return None
        if not isinstance(data, dict) or is_deleted(data):
            return None
        return data

    async def _definitions(self, company_id: str) -> dict[SourceEntity, list[FieldPayload]]:
        return await self._fields.get(company_id, lambda: self._read_definitions(company_id))

    async def _read_definitions(self, company_id: str) -> dict[SourceEntity, list[FieldPayload]]:
        entities = list(_FIELD_PATHS)
        pages = await _all(*(self._get_pages(company_id, _FIELD_PATHS[e]) for e in entities))
        return {
            entity: [cast(FieldPayload, d) for d in page]
            for entity, page in zip(entities, pages, strict=True)
        }

    async def _deal_data(self, company_id: str, deal_id: str) -> tuple[Any, DealParties]:
        data = await self._get_data(
            company_id, f"/api/v2/deals/{deal_id}", (ResourceType.DEAL, deal_id)
        )
        if not isinstance(data, dict):
            raise bad_response("the deal is not an object")
        if is_deleted(data):
            raise NotFoundError(ResourceType.DEAL, deal_id)
        try:
            parties = DealParties(
                id_text(data.get("org_id"), "org_id"), id_text(data.get("person_id"), "person_id")
            )
        except PayloadError as exc:
            raise bad_response(str(exc)) from exc
        return data, parties

    async def deal_parties(self, company_id: str, deal_id: str) -> DealParties:
        deal_id = _checked_id(ResourceType.DEAL, deal_id)
        return (await self._deal_data(company_id, deal_id))[1]

    async def deal_value(self, company_id: str, deal_id: str) -> tuple[Decimal, str]:
        deal_id = _checked_id(ResourceType.DEAL, deal_id)
        data = (await self._deal_data(company_id, deal_id))[0]
        try:
            return deal_value_of(data)
        except PayloadError as exc:
            raise bad_response(str(exc)) from exc

    async def won_deals(self, company_id: str, since: datetime, until: datetime) -> list[WonDeal]:
        """``GET /api/v2/deals?status=won&updated_since=`` (``deals:read``, 10 tokens a page of
        500): a deal won since ``since`` was updated since then too, so Pipedrive narrows the
        list; the won time decides."""
        data = await self._get_pages(
            company_id,
            "/api/v2/deals",
            {
                "status": "won",
                "updated_since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "sort_by": "update_time",
                "sort_direction": "desc",
            },
        )
        return [d for d in _newest_won(data) if since <= d.won_time < until]

    async def won_deals_among(self, company_id: str, deal_ids: Sequence[str]) -> list[WonDeal]:
        """``GET /api/v2/deals?ids=`` (``deals:read``), 100 ids a call as the spec allows,
        calls at once: Pipedrive leaves out the deals that are gone or that the caller may not
        see; the won ones are kept. An id that cannot be a deal's is no deal, like one gone."""
        ids = sorted({d for d in deal_ids if _NUMERIC_ID.match(d)}, key=int)
        chunks = [ids[i : i + IDS_PER_CALL] for i in range(0, len(ids), IDS_PER_CALL)]
        pages = await _all(
            *(self._get_pages(company_id, "/api/v2/deals", {"ids": ",".join(c)}) for c in chunks)
        )
        return _newest_won([item for page in pages for item in page])

    async def deal_permitted_users(self, company_id: str, deal_id: str) -> frozenset[str]:
        """``GET /v1/deals/{id}/permittedUsers`` (``deals:read``/``deals:full``, 10 tokens):
        Pipedrive's own answer, so visibility groups, followers and the plan's meaning of
        ``visible_to`` are Pipedrive's, not a model of ours. Its ``data`` is a list of integer
        user ids (the spec's example; its schema leaves ``data`` untyped, so a list of digit
        strings is taken too [U])."""
        deal_id = _checked_id(ResourceType.DEAL, deal_id)
        data = await self._get_data(
            company_id, f"/api/v1/deals/{deal_id}/permittedUsers", (ResourceType.DEAL, deal_id)
        )
        if data is None:  # v1 lists answer null for "none"
            return frozenset()
        if not isinstance(data, list):
            raise bad_response("deals/{id}/permittedUsers is not a list")
        ids: set[str] = set()
        for item in data:
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise bad_response("deals/{id}/permittedUsers holds a non-id")
            text = str(item).strip()
            if not text.isdigit():
                raise bad_response("deals/{id}/permittedUsers holds a non-id")
            ids.add(text)
        return frozenset(ids)

    async def list_permission_sets(self, company_id: str) -> list[CrmPermissionSet]:
        """``GET /v1/permissionSets`` (``admin`` scope, 20 tokens): every app's sets."""
        data = await self._get_data(company_id, "/api/v1/permissionSets")
        if data is None:
            return []
        if not isinstance(data, list):
            raise bad_response("permissionSets is not a list")
        found: list[CrmPermissionSet] = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise bad_response("a permission set has no id")
            found.append(
                CrmPermissionSet(
                    id=item["id"],
                    name=str(item.get("name") or item["id"]),
                    app=str(item.get("app") or ""),
                    kind=str(item.get("type") or ""),
                )
            )
        return found

    async def get_deal(self, company_id: str, deal_id: str) -> Deal:
        deal_id = _checked_id(ResourceType.DEAL, deal_id)
        # The deal first: it names its organization and person, and a missing or deleted deal
        # should not spend the 20 tokens its products and discounts cost.
        data, parties = await self._deal_data(company_id, deal_id)
        organization, person, products, discounts, fields = await _all(
            self._optional(company_id, "organizations", parties.organization_id),
            self._optional(company_id, "persons", parties.person_id),
            self._get_pages(company_id, f"/api/v2/deals/{deal_id}/products"),
            self._get_data(
                company_id, f"/api/v2/deals/{deal_id}/discounts", (ResourceType.DEAL, deal_id)
            ),
            self._definitions(company_id),
        )
        if discounts is not None and not isinstance(discounts, list):
            raise bad_response("the deal's discounts are not a list")
        try:
            return deal_from_payloads(
                cast(DealPayload, data),
                organization,
                person,
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

    async def list_pipelines(self, company_id: str) -> list[CrmPipeline]:
        """``GET /api/v2/pipelines`` and every ``GET /api/v2/stages`` page (``deals:read``,
        5 tokens a page each), read together."""
        pipelines, stages = await _all(
            self._get_pages(company_id, "/api/v2/pipelines"),
            self._get_pages(company_id, "/api/v2/stages"),
        )
        try:
            return pipelines_from_payloads(
                [cast(PipelinePayload, p) for p in pipelines],
                [cast(StagePayload, s) for s in stages],
            )
        except PayloadError as exc:
            raise bad_response(str(exc)) from exc

    # ----------------------------------------------------------------- writes

    async def add_deal_note(self, company_id: str, deal_id: str, text: str) -> str:
        deal_id = _checked_id(ResourceType.DEAL, deal_id)
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        content = "<br>".join(html.escape(line, quote=True) for line in lines)
        body = await self._client.request(
            company_id,
            "POST",
            "/api/v1/notes",
            json_body={"deal_id": int(deal_id), "content": content},
            resource=(ResourceType.DEAL, deal_id),
        )
        data = body.get("data")
        note_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(note_id, bool) or not isinstance(note_id, int):
            raise bad_response("the new note has no id")
        log.info("pipedrive.note_added", company_id=company_id, deal_id=deal_id, note_id=note_id)
        return str(note_id)

    async def deal_notes(self, company_id: str, deal_id: str) -> list[str]:
        deal_id = _checked_id(ResourceType.DEAL, deal_id)
        texts: list[str] = []
        start = 0
        for _ in range(1000):  # a guard against pagination that never ends
            body = await self._client.request(
                company_id,
                "GET",
                "/api/v1/notes",
                params={"deal_id": deal_id, "start": str(start), "limit": "500", "sort": "id ASC"},
                resource=(ResourceType.DEAL, deal_id),
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

    async def add_deal_activity(self, company_id: str, deal_id: str, text: str) -> str:
        """``POST /api/v2/activities`` (``activities:full``, 5 tokens): a done task on the
        deal, its subject the text's first line, its note the whole text."""
        deal_id = _checked_id(ResourceType.DEAL, deal_id)
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        subject = lines[0][:ACTIVITY_SUBJECT_MAX]
        body = await self._client.request(
            company_id,
            "POST",
            "/api/v2/activities",
            json_body={
                "subject": subject,
                "type": "task",
                "deal_id": int(deal_id),
                "done": True,
                "note": "<br>".join(html.escape(line, quote=True) for line in lines),
            },
            resource=(ResourceType.DEAL, deal_id),
        )
        data = body.get("data")
        activity_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(activity_id, bool) or not isinstance(activity_id, int):
            raise bad_response("the new activity has no id")
        log.info(
            "pipedrive.activity_added",
            company_id=company_id,
            deal_id=deal_id,
            activity_id=activity_id,
        )
        return str(activity_id)

    async def deal_activities(self, company_id: str, deal_id: str) -> list[str]:
        """The notes of the deal's done activities as plain text, oldest first."""
        deal_id = _checked_id(ResourceType.DEAL, deal_id)
        texts: list[str] = []
        cursor: str | None = None
        for _ in range(1000):  # a guard against a cursor that never ends
            params = {"deal_id": deal_id, "done": "true", "limit": PAGE_LIMIT}
            if cursor:
                params["cursor"] = cursor
            body = await self._client.request(
                company_id,
                "GET",
                "/api/v2/activities",
                params=params,
                resource=(ResourceType.DEAL, deal_id),
            )
            data = body.get("data") or []
            if not isinstance(data, list):
                raise bad_response("the deal's activities are not a list")
            for activity in data:
                note = activity.get("note") if isinstance(activity, dict) else None
                if isinstance(note, str):
                    texts.append(html.unescape(re.sub(r"<br\s*/?>", "\n", note)))
            additional = body.get("additional_data") or {}
            cursor = additional.get("next_cursor") if isinstance(additional, dict) else None
            if not cursor:
                return texts
        raise bad_response("activities paginate without end")

    async def current_user(self, company_id: str) -> CrmUser:
        data = await self._get_data(company_id, "/api/v1/users/me")
        if not isinstance(data, dict):
            raise bad_response("users/me is not an object")
        return user_from_payload(cast(UserPayload, data))

    async def acting_locale(self, company_id: str) -> str:
        # Kept at install (users/me answered it then); an install older than migration 0031
        # asks again. A locale changed in Pipedrive since shows after the user reinstalls; the
        # company's own language setting overrides it.
        locale = (await self._client.connection(company_id)).locale
        return locale or (await self.current_user(company_id)).locale

    async def get_user(self, company_id: str, user_id: str) -> CrmUser:
        if not user_id.isdigit():
            raise NotFoundError(ResourceType.USER, user_id)
        data = await self._get_data(
            company_id, f"/api/v1/users/{user_id}", (ResourceType.USER, user_id)
        )
        if not isinstance(data, dict):
            raise bad_response("users/{id} is not an object")
        # `GET /users/{id}` has no company fields (BaseUser): the company is the caller's.
        return user_from_payload(cast(UserPayload, {"company_id": int(company_id), **data}))

    # ----------------------------------------------------------------- deal fields

    async def ensure_deal_fields(
        self, company_id: str, known: DealFieldKeys | None
    ) -> DealFieldKeys:
        # Read afresh (not the cached catalogue): someone may have deleted a field since.
        existing = [
            d
            for d in await self._get_pages(company_id, _FIELD_PATHS[SourceEntity.DEAL])
            if d.get("is_custom_field")
        ]
        codes = {d.get("field_code") for d in existing}
        keys: dict[str, str] = {}
        for attribute, (name, field_type) in DEAL_FIELDS.items():
            kept = getattr(known, attribute) if known is not None else None
            if isinstance(kept, str) and kept in codes:
                keys[attribute] = kept
                continue
            same = next(
                (
                    d
                    for d in existing
                    if d.get("field_name") == name and d.get("field_type") == field_type
                ),
                None,
            )
            if same is not None and isinstance(same.get("field_code"), str):
                keys[attribute] = str(same["field_code"])
                continue
            body = await self._client.request(
                company_id,
                "POST",
                "/api/v2/dealFields",
                json_body={"field_name": name, "field_type": field_type},
            )
            data = body.get("data")
            code = data.get("field_code") if isinstance(data, dict) else None
            if not isinstance(code, str) or not code:
                raise bad_response("the new deal field has no field_code")
            log.info("pipedrive.deal_field_added", company_id=company_id, field=name, key=code)
            keys[attribute] = code
        self._fields.forget(company_id)
        return DealFieldKeys(**keys)

    async def set_deal_fields(
        self, company_id: str, deal_id: str, keys: DealFieldKeys, totals: DealInvoiceTotals
    ) -> None:
        deal_id = _checked_id(ResourceType.DEAL, deal_id)
        custom: dict[str, Any] = {keys.invoice_status: totals.status or None}
        for attribute in ("invoiced", "paid", "balance_due"):
            amount = getattr(totals, attribute)
            custom[getattr(keys, attribute)] = (
                {"value": float(amount), "currency": totals.currency}
                if totals.currency is not None
                else None
            )
        await self._client.request(
            company_id,
            "PATCH",
            f"/api/v2/deals/{deal_id}",
            json_body={"custom_fields": custom},
            resource=(ResourceType.DEAL, deal_id),
        )

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
                resource=(ResourceType.WEBHOOK, webhook_id),
            )
        except NotFoundError:
            return
        log.info("pipedrive.webhook_deleted", company_id=company_id, webhook_id=webhook_id)
