"""AIP-158 pagination: page sizes and opaque page tokens bound to their parent."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from application.commands import DealRef
from domain.errors import InvalidValueError
from domain.messages import MessageCode

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_size_of(requested: int) -> int:
    if requested < 0:
        raise InvalidValueError.of("page_size", MessageCode.PAGE_SIZE_NEGATIVE)
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(parent: str, position: dict[str, Any]) -> str:
    raw = json.dumps({"p": parent, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(parent: str, token: str) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("p") != parent:
        raise InvalidValueError.of("page_token", MessageCode.PAGE_TOKEN_ELSEWHERE)
    return data


def deal_parent(ref: DealRef) -> str:
    return f"companies/{ref.company_id}/deals/{ref.deal_id}"
