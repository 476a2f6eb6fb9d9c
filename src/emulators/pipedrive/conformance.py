"""Validate emulator responses against Pipedrive's published OpenAPI files.

The conformance tests call :func:`validate` per operation; with the environment variable
``PIPEDRIVE_EMULATOR_VALIDATE_RESPONSES=1`` (the test suite sets it) every JSON response an
emulator serves is validated as it leaves, and problems are kept in :data:`VIOLATIONS`.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from typing import Any

from aiohttp import web

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
    from openapi_schema_validator import OAS30Validator  # a test-time dependency

    OAS30Validator(response_schema(version, method, path, status)).validate(body)


VALIDATE_ENV = "PIPEDRIVE_EMULATOR_VALIDATE_RESPONSES"
VIOLATIONS: list[str] = []


def make_validating_middleware(operation_of: Any) -> Any:
    """Validate each documented JSON response of an operation-marked handler on its way out."""

    @web.middleware
    async def validate_responses(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        marker = operation_of(request)
        if (
            marker is None
            or not isinstance(response, web.Response)
            or response.content_type != "application/json"
            or response.body is None
        ):
            return response
        version, method, path = marker
        if response.status not in documented_statuses(version, method, path):
            return response  # e.g. a 429 the spec does not list for this operation
        try:
            validate(version, method, path, response.status, json.loads(bytes(response.body)))
        except Exception as exc:  # recorded for the test run to fail on, never raised here
            VIOLATIONS.append(f"{method.upper()} {request.path} -> {response.status}: {exc}")
        return response

    return validate_responses


def validation_enabled() -> bool:
    return os.environ.get(VALIDATE_ENV, "") not in ("", "0")
