"""API v2 cursor pagination and strict query-parameter parsing."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from .model import ValidationError

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def encode_cursor(field: str, value: Any, direction: str, item_id: Any) -> str:
    # Same layout as Pipedrive's cursors: base64url(JSON) without padding, e.g.
    # {"field":"id","fieldValue":7,"sortDirection":"asc","id":7}.
    raw = json.dumps(
        {"field": field, "fieldValue": value, "sortDirection": direction, "id": item_id},
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("cursor: Invalid cursor") from exc
    if not isinstance(data, dict) or "id" not in data:
        raise ValidationError("cursor: Invalid cursor")
    return data


def int_param(request: web.Request, name: str, *, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValidationError(f"{name}: Expected number, received string") from exc


def bool_param(request: web.Request, name: str) -> bool:
    raw = request.query.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        # v2 accepts only true/false for booleans (reference §2).
        raise ValidationError(f"{name}: Expected boolean, received string")
    return raw == "true"


def enum_param(request: web.Request, name: str, allowed: Sequence[str], default: str) -> str:
    raw = request.query.get(name, default)
    if raw not in allowed:
        expected = " | ".join(f"'{a}'" for a in allowed)
        raise ValidationError(f"{name}: Invalid enum value. Expected {expected}, received '{raw}'")
    return raw


def limit_param(request: web.Request) -> int:
    limit = int_param(request, "limit", default=DEFAULT_LIMIT)
    assert limit is not None
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit: Number must be between 1 and {MAX_LIMIT}")
    return limit


def paginate(
    request: web.Request,
    items: Sequence[T],
    *,
    sort_fields: Sequence[str],
    value_of: Callable[[T, str], Any],
    id_of: Callable[[T], Any],
) -> tuple[list[T], str | None]:
    """Sort by `sort_by`/`sort_direction`, then cut one page at `cursor`/`limit`."""
    sort_by = enum_param(request, "sort_by", sort_fields, sort_fields[0])
    direction = enum_param(request, "sort_direction", ("asc", "desc"), "asc")
    limit = limit_param(request)

    def key(item: T) -> tuple[Any, Any]:
        value = value_of(item, sort_by)
        return ("" if value is None else value, id_of(item))

    ordered = sorted(items, key=key, reverse=direction == "desc")
    cursor = request.query.get("cursor")
    if cursor:
        position = decode_cursor(cursor)
        after = (
            "" if position.get("fieldValue") is None else position["fieldValue"],
            position["id"],
        )
        if direction == "asc":
            ordered = [i for i in ordered if key(i) > after]
        else:
            ordered = [i for i in ordered if key(i) < after]
    page = ordered[:limit]
    next_cursor = None
    if len(ordered) > limit:
        last = page[-1]
        next_cursor = encode_cursor(sort_by, value_of(last, sort_by), direction, id_of(last))
    return page, next_cursor
