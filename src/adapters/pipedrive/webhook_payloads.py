"""Pipedrive webhook bodies (v2: meta/data/previous; v1 legacy: meta.object/action) -> CrmChange."""

from __future__ import annotations

import json
from typing import Any

from application.crm_events import CrmChange

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
    return CrmChange(
        company_id=str(company_id), entity=str(entity), action=str(action), entity_id=str(entity_id)
    )
