"""Pipedrive webhook bodies (v2: meta/data/previous; v1 legacy: meta.object/action) -> CrmChange."""

from __future__ import annotations

import json
from typing import Any

from application.crm_events import CrmChange
from domain.invoice_rule import DealMove

_V1_ACTIONS = {"added": "create", "updated": "change", "deleted": "delete", "merged": "change"}


class MalformedCrmWebhookError(ValueError):
    """Not a Pipedrive webhook payload."""


def parse_change(raw: bytes) -> CrmChange:
    try:
        payload: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedCrmWebhookError("not JSON") from exc
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if not isinstance(meta, dict):
        raise MalformedCrmWebhookError("no meta object")
    entity = meta.get("entity") or meta.get("object")
    action = meta.get("action")
    action = _V1_ACTIONS.get(str(action), action)
    entity_id = meta.get("entity_id") or meta.get("id")
    company_id = meta.get("company_id")
    if not (entity and action and entity_id and company_id):
        raise MalformedCrmWebhookError("meta lacks entity, action, entity_id or company_id")
    move = None
    if entity == "deal" and action in ("change", "create"):
        move = deal_move(payload, created=action == "create")
    return CrmChange(
        company_id=str(company_id),
        entity=str(entity),
        action=str(action),
        entity_id=str(entity_id),
        deal_move=move,
    )


def _id(value: Any) -> str | None:
    if isinstance(value, dict):  # v1 bodies may expand a reference: {"id": 1, "name": ...}
        value = value.get("id") if "id" in value else value.get("value")
    if value is None or isinstance(value, bool) or value == "":
        return None
    return str(value)


def deal_move(payload: dict[str, Any], *, created: bool = False) -> DealMove | None:
    """A deal's status and stage after the change (``data``; v1: ``current``) and, for those
    the change touched, before it (``previous``); for a deal ``created`` (``create.deal``), its
    first status and stage (:meth:`DealMove.created`).

    Webhooks v2 put in ``previous`` "only changed fields on change" (reference §9, A6): a field
    absent from it did not change. v1 bodies carry the whole previous deal, where an unchanged
    field holds its current value: both read the same here.

    [U] Assumed, not shown by the reference's one example (a custom field set): that a deal
    marked won arrives as one ``change`` whose ``previous`` holds ``status`` (its old value,
    "open" or "lost"), also when a reopened deal is won again; and that a move to another stage
    holds ``stage_id`` the same way.

    A deal *created* already won (an import, the API, a web form) or straight into a stage
    comes as ``create.deal``, whose ``previous`` is null (reference §9, [C]); it is read from
    ``data`` alone. [U] Assumed: that such a deal's creation brings one ``create.deal`` whose
    ``data`` holds its status and stage as created (won, with its stage), and no ``change.deal``
    that would win it; were both to come, the rule still runs once per deal."""
    data = payload.get("data") or payload.get("current")
    previous = payload.get("previous") or {}
    if not isinstance(data, dict) or not isinstance(previous, dict):
        return None
    status = data.get("status")
    if not isinstance(status, str):
        return None
    if created:
        return DealMove.created(status, _id(data.get("stage_id")), _id(data.get("pipeline_id")))
    previous_status = previous.get("status") if "status" in previous else None
    return DealMove(
        status=status,
        stage_id=_id(data.get("stage_id")),
        pipeline_id=_id(data.get("pipeline_id")),
        previous_status=str(previous_status) if previous_status is not None else None,
        previous_stage_id=_id(previous.get("stage_id")) if "stage_id" in previous else None,
    )
