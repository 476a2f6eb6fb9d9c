"""Fault injection rules set through ``POST /_emulator/faults``."""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass
from typing import Any


@dataclass
class Rule:
    rule_id: str
    method: str | None = None
    path: re.Pattern[str] | None = None
    realm: str | None = None
    status: int | None = None
    body: Any = None
    fault: dict[str, Any] | None = None
    xml: bool = False
    latency_ms: int = 0
    timeout: bool = False
    #: How long a ``timeout`` hangs before the connection is dropped; None: the emulator's
    #: ``hang_seconds`` (Intuit's own 120 s and a little more).
    hang_seconds: float | None = None
    drop_before: bool = False
    drop_after_commit: bool = False
    probability: float = 1.0
    count: int | None = None
    hits: int = 0

    def matches(self, method: str, path: str, realm: str | None) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path is not None and not self.path.search(path):
            return False
        return not (self.realm and self.realm != realm)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "method": self.method,
            "path": self.path.pattern if self.path else None,
            "realm": self.realm,
            "status": self.status,
            "body": self.body,
            "fault": self.fault,
            "xml": self.xml,
            "latency_ms": self.latency_ms,
            "timeout": self.timeout,
            "hang_seconds": self.hang_seconds,
            "drop_before": self.drop_before,
            "drop_after_commit": self.drop_after_commit,
            "probability": self.probability,
            "count": self.count,
            "hits": self.hits,
        }


class Chaos:
    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def clear(self) -> None:
        self.rules.clear()

    def add(self, spec: dict[str, Any]) -> Rule:
        """Validate an admin spec; raises ValueError with a readable message."""
        known = set(Rule.__dataclass_fields__) - {"rule_id", "hits"} | {"id"}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        try:
            pattern = re.compile(spec["path"]) if spec.get("path") else None
        except re.error as exc:
            raise ValueError(f"bad path regex: {exc}") from exc
        status = spec.get("status")
        if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
            raise ValueError("status must be an HTTP status code")
        probability = float(spec.get("probability", 1.0))
        if not 0 <= probability <= 1:
            raise ValueError("probability must be within [0, 1]")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer")
        hang = spec.get("hang_seconds")
        if hang is not None and (
            isinstance(hang, bool) or not isinstance(hang, int | float) or hang < 0
        ):
            raise ValueError("hang_seconds must be a number of seconds, 0 or more")
        rule = Rule(
            rule_id=str(spec.get("id") or secrets.token_hex(4)),
            method=spec.get("method"),
            path=pattern,
            realm=spec.get("realm"),
            status=status,
            body=spec.get("body"),
            fault=spec.get("fault"),
            xml=bool(spec.get("xml", False)),
            latency_ms=int(spec.get("latency_ms", 0)),
            timeout=bool(spec.get("timeout", False)),
            hang_seconds=float(hang) if hang is not None else None,
            drop_before=bool(spec.get("drop_before", False)),
            drop_after_commit=bool(spec.get("drop_after_commit", False)),
            probability=probability,
            count=count,
        )
        if not (
            rule.status
            or rule.latency_ms
            or rule.timeout
            or rule.drop_before
            or rule.drop_after_commit
        ):
            raise ValueError(
                "a rule needs an action: status, latency_ms, timeout, drop_before or "
                "drop_after_commit"
            )
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.rule_id != rule_id]
        return len(self.rules) != before

    def pick(self, method: str, path: str, realm: str | None) -> Rule | None:
        for rule in list(self.rules):
            if not rule.matches(method, path, realm):
                continue
            if rule.probability < 1 and random.random() >= rule.probability:
                continue
            rule.hits += 1
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
            return rule
        return None
