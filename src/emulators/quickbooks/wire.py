"""JSON encoding as QBO does it: money as numbers, compact bodies, ``intuit_tid`` ids."""

from __future__ import annotations

import json
import secrets
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from aiohttp import web

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
CENT = Decimal("0.01")


def dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    """Parse a request number (int, float, numeric string); ``""``/None mean absent."""
    if value is None or value == "" or isinstance(value, bool):
        return default
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default


def loads(raw: bytes) -> Any:
    """A request body, its fractional numbers read exactly (``Decimal``), not through a float:
    QBO's amounts and rates are decimals (reference §3.2)."""
    return json.loads(raw or b"{}", parse_float=Decimal)


def money(value: Decimal) -> Decimal:
    """An amount as QuickBooks keeps it: to 2 places half-up, in every currency, 3-decimal ones
    such as KWD included [O] (Breadwinner's help: line amounts, tax and totals are kept to 2
    places; the reference is silent). Never to the currency's ISO 4217 minor units."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_wire(obj: Any) -> Any:
    """Decimals become JSON numbers the way QBO prints them: ``0`` for zero, else ``100.0``."""
    if isinstance(obj, Decimal):
        if obj == 0:
            return 0
        return float(obj)
    if isinstance(obj, dict):
        return {key: to_wire(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_wire(value) for value in obj]
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(to_wire(obj), separators=(",", ":"), ensure_ascii=False)


def json_response(
    obj: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    all_headers = {"Content-Type": JSON_CONTENT_TYPE}
    if headers:
        all_headers.update(headers)
    return web.Response(body=dumps(obj).encode(), status=status, headers=all_headers)


def new_tid() -> str:
    """Shaped like ``1-6788f84f-6884a39301781a625be433fc``."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
