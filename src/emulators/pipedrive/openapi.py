"""Pipedrive's published OpenAPI files: loaded once, used for token costs and scopes."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_DEFAULT_DIR = Path("/work/shared/reference/pipedrive-openapi")
SPEC_DIR_ENV = "PIPEDRIVE_OPENAPI_DIR"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def spec_dir() -> Path:
    override = os.environ.get(SPEC_DIR_ENV)
    if override:
        return Path(override)
    # Walk up from this file looking for the shared reference checkout; fall back to the default.
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference" / "pipedrive-openapi"
        if candidate.is_dir():
            return candidate
    return _DEFAULT_DIR


@functools.cache
def load_spec(version: str) -> dict[str, Any]:
    """The parsed `v1.yaml` or `v2.yaml` (parsed once per process; ~1 s each)."""
    path = spec_dir() / f"{version}.yaml"
    with path.open("rb") as handle:
        return yaml.load(handle, Loader=_Loader)


def specs_available() -> bool:
    return (spec_dir() / "v1.yaml").is_file() and (spec_dir() / "v2.yaml").is_file()


@dataclass(frozen=True)
class OperationMeta:
    """What the emulator needs from an operation: its cost and who may call it."""

    version: str
    method: str
    path: str
    operation_id: str
    token_cost: int
    # Any one of these OAuth scopes grants access; None = no OAuth requirement in the spec.
    oauth_scopes: frozenset[str] | None
    api_key_allowed: bool


# Used when the spec files are not on disk (the emulator must still run): Appendix B numbers.
_FALLBACK: dict[tuple[str, str, str], tuple[int, tuple[str, ...]]] = {
    ("v2", "get", "/deals"): (10, ("deals:read", "deals:full")),
    ("v2", "post", "/deals"): (5, ("deals:full",)),
    ("v2", "get", "/deals/{id}"): (1, ("deals:read", "deals:full")),
    ("v2", "patch", "/deals/{id}"): (5, ("deals:full",)),
    ("v2", "delete", "/deals/{id}"): (3, ("deals:full",)),
    ("v2", "get", "/deals/{id}/products"): (
        10,
        ("products:read", "products:full", "deals:read", "deals:full"),
    ),
    ("v2", "get", "/deals/products"): (
        10,
        ("products:read", "products:full", "deals:read", "deals:full"),
    ),
    ("v2", "get", "/deals/{id}/discounts"): (10, ("deals:read", "deals:full")),
    ("v2", "get", "/organizations/{id}"): (1, ("contacts:read", "contacts:full")),
    ("v2", "patch", "/organizations/{id}"): (5, ("contacts:full",)),
    ("v2", "get", "/persons/{id}"): (1, ("contacts:read", "contacts:full")),
    ("v2", "patch", "/persons/{id}"): (5, ("contacts:full",)),
    ("v2", "get", "/pipelines"): (5, ("deals:read", "deals:full", "admin")),
    ("v2", "get", "/stages"): (5, ("deals:read", "deals:full", "admin")),
    ("v2", "get", "/dealFields"): (10, ("deals:read", "deals:full", "admin", "deal-fields:full")),
    ("v2", "get", "/organizationFields"): (
        10,
        ("contacts:read", "contacts:full", "admin", "contact-fields:full"),
    ),
    ("v2", "get", "/personFields"): (
        10,
        ("contacts:read", "contacts:full", "admin", "contact-fields:full"),
    ),
    ("v1", "get", "/users/me"): (2, ("base",)),
    ("v1", "get", "/currencies"): (20, ("base",)),
    ("v1", "get", "/notes"): (20, ("deals:read", "deals:full", "contacts:read", "contacts:full")),
    ("v1", "post", "/notes"): (10, ("deals:full", "contacts:full")),
    ("v1", "get", "/notes/{id}"): (
        2,
        ("deals:read", "deals:full", "contacts:read", "contacts:full"),
    ),
    ("v1", "delete", "/notes/{id}"): (6, ("deals:full", "contacts:full")),
    ("v1", "get", "/webhooks"): (10, ("admin",)),
    ("v1", "post", "/webhooks"): (10, ("admin",)),
    ("v1", "delete", "/webhooks/{id}"): (6, ("admin",)),
    ("v1", "get", "/deals/{id}/permittedUsers"): (10, ("deals:read", "deals:full")),
    ("v1", "get", "/deals/{id}/followers"): (20, ("deals:read", "deals:full")),
    ("v1", "post", "/deals/{id}/followers"): (10, ("deals:full",)),
    ("v1", "get", "/permissionSets"): (20, ("admin",)),
    ("v2", "get", "/activities"): (10, ("activities:read", "activities:full")),
    ("v2", "post", "/activities"): (5, ("activities:full",)),
}


@functools.cache
def operation_meta(version: str, method: str, path: str) -> OperationMeta:
    """Cost and security of `method path` in the v1/v2 spec (path as written in the spec)."""
    method = method.lower()
    if specs_available():
        operation = load_spec(version)["paths"][path][method]
        scopes: frozenset[str] | None = None
        api_key = False
        for requirement in operation.get("security", []):
            if "oauth2" in requirement:
                scopes = frozenset(requirement["oauth2"])
            if "api_key" in requirement:
                api_key = True
        return OperationMeta(
            version=version,
            method=method,
            path=path,
            operation_id=operation.get("operationId", ""),
            token_cost=int(operation.get("x-token-cost", 0)),
            oauth_scopes=scopes,
            api_key_allowed=api_key,
        )
    cost, fallback_scopes = _FALLBACK[(version, method, path)]
    return OperationMeta(version, method, path, "", cost, frozenset(fallback_scopes), True)
