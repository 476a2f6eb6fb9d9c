"""QuickBooks webhook bodies (classic ``eventNotifications`` and CloudEvents) -> ChangeNotice."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from adapters.quickbooks.gateway import CDC_ENTITIES, REFERENCE_ENTITIES
from adapters.quickbooks.mappers import parse_qbo_time
from application.ports.sync import ChangeNotice

# CloudEvents verbs (reference §8.2) -> the classic operation names.
_VERBS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "voided": "Void",
    "emailed": "Emailed",
    "merged": "Merge",
}


# CloudEvents name the entity in lower case (``qbo.companyinfo.updated.v1``, reference §8.2);
# the classic payload, CDC and our notice store use QuickBooks' own names. Those of the entities
# read from the notice store; any other is only capitalized (nothing reads it).
_ENTITY_NAMES = {name.lower(): name for name in (*CDC_ENTITIES, *REFERENCE_ENTITIES)}


class MalformedWebhookError(ValueError):
    """The body is not a QuickBooks webhook payload."""


def notices_from_payload(payload: Any) -> list[ChangeNotice]:
    """The notices of an already decoded webhook body."""
    notices: list[ChangeNotice] = []
    if isinstance(payload, dict) and isinstance(payload.get("eventNotifications"), list):
        for notification in payload["eventNotifications"]:
            if not isinstance(notification, dict):
                raise MalformedWebhookError("eventNotifications holds a non-object")
            realm = str(notification.get("realmId", ""))
            entities = (notification.get("dataChangeEvent") or {}).get("entities") or []
            for entity in entities:
                if not isinstance(entity, dict) or not realm:
                    raise MalformedWebhookError("entity without realm or shape")
                fields = (
                    realm,
                    str(entity.get("name", "")),
                    str(entity.get("id", "")),
                    str(entity.get("operation", "")),
                    str(entity.get("lastUpdated", "")),
                )
                notices.append(
                    ChangeNotice(
                        key="c-" + hashlib.sha256("|".join(fields).encode()).hexdigest()[:40],
                        realm_id=realm,
                        entity=fields[1],
                        entity_id=fields[2],
                        operation=fields[3],
                        occurred_at=parse_qbo_time(entity.get("lastUpdated")),
                    )
                )
        return notices
    if isinstance(payload, list):
        for event in payload:
            if not isinstance(event, dict) or "type" not in event:
                raise MalformedWebhookError("CloudEvent without a type")
            parts = str(event["type"]).split(".")
            if len(parts) < 3 or parts[0] != "qbo":
                continue  # not an accounting event; nothing for us
            event_id = str(event.get("id", "")) or json.dumps(event, sort_keys=True)
            notices.append(
                ChangeNotice(
                    key="e-" + hashlib.sha256(event_id.encode()).hexdigest()[:40],
                    realm_id=str(event.get("intuitaccountid", "")),
                    entity=_ENTITY_NAMES.get(parts[1].lower(), parts[1].capitalize()),
                    entity_id=str(event.get("intuitentityid", "")),
                    operation=_VERBS.get(parts[2], parts[2].capitalize()),
                    occurred_at=parse_qbo_time(event.get("time")),
                )
            )
        return notices
    raise MalformedWebhookError("neither eventNotifications nor a CloudEvents array")
