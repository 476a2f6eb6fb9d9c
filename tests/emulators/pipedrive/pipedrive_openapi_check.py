"""Validate emulator responses against Pipedrive's published OpenAPI files (test helper)."""

from __future__ import annotations

import copy
import functools
from typing import Any

from openapi_schema_validator import OAS30Validator

from emulators.pipedrive.openapi import load_spec

# Known spec errata: properties the spec declares non-nullable although the real API serves
# null for them (each one justified by a reference fixture or by how the entity works).
NULLABLE_ERRATA = {
    # Open deals have no won/lost time; A6 (real webhook payload) shows `null` for these.
    "won_time",
    "lost_time",
    "expected_close_date",
    "stage_change_time",
    "first_won_time",
    # A deal/person without an organization or contact person (A6 shows ids can be absent).
    "person_id",
    "org_id",
    # The v2 cursor is null on the last page (reference §2: "`next_cursor` (null when done)").
    "next_cursor",
    # Persons without a picture; users without an icon.
    "picture_id",
    "icon_url",
    # Organizations without an address.
    "address",
}
# Per schema title: a note is attached to one or more of deal/person/org/lead/project; the
# links it does not have are null (A7's example merely shows every link filled in).
NULLABLE_BY_TITLE = {
    "Note": {"deal_id", "lead_id", "project_id", "deal", "person", "organization"},
}
# Schemas whose every property may be null: address subfields default to null (reference §5).
NULLABLE_SCHEMAS = {"OrganizationItemAddress", "PersonItemAddress"}
# v1 list endpoints answer `data: null` when nothing matches.
NULLABLE_DATA_TITLES = {"GetNotesResponse"}


def _resolve(spec: dict[str, Any], node: Any, stack: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if ref in stack:
                return {}
            target: Any = spec
            for part in ref.lstrip("#/").split("/"):
                target = target[part]
            return _resolve(spec, target, (*stack, ref))
        return {key: _resolve(spec, value, stack) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(spec, item, stack) for item in node]
    return node


def _apply_errata(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _apply_errata(value) for key, value in node.items()}
        properties = node.get("properties")
        if isinstance(properties, dict):
            all_nullable = node.get("title") in NULLABLE_SCHEMAS
            for name, schema in properties.items():
                extra = NULLABLE_BY_TITLE.get(node.get("title", ""), set())
                if isinstance(schema, dict) and (
                    all_nullable or name in NULLABLE_ERRATA or name in extra
                ):
                    schema["nullable"] = True
            if node.get("title") in NULLABLE_DATA_TITLES and "data" in properties:
                properties["data"]["nullable"] = True
        return node
    if isinstance(node, list):
        return [_apply_errata(item) for item in node]
    return node


@functools.cache
def response_schema(version: str, method: str, path: str, status: int) -> dict[str, Any]:
    spec = load_spec(version)
    operation = spec["paths"][path][method.lower()]
    response = _resolve(spec, operation["responses"][str(status)])
    content = response["content"]["application/json"]
    return _apply_errata(copy.deepcopy(content["schema"]))


def documented_statuses(version: str, method: str, path: str) -> set[int]:
    operation = load_spec(version)["paths"][path][method.lower()]
    return {int(code) for code in operation["responses"] if code.isdigit()}


def validate(version: str, method: str, path: str, status: int, body: Any) -> None:
    """Raise if `status` is undocumented for the operation or `body` breaks its schema."""
    statuses = documented_statuses(version, method, path)
    assert status in statuses, f"{method} {path}: status {status} not in spec ({statuses})"
    OAS30Validator(response_schema(version, method, path, status)).validate(body)
