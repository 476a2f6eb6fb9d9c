"""Fault injection: match method/path, then answer a status, add latency or drop the response."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from typing import Any


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    id: int
    method: str  # "*" or an HTTP method
    path: re.Pattern[str]
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    latency_ms: int = 0
    drop: bool = False  # run the request (commit), then drop the connection without a response
    count: int | None = None  # remaining triggers; None = unlimited
    probability: float = 1.0
    hits: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path.pattern,
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "latency_ms": self.latency_ms,
            "drop": self.drop,
            "count": self.count,
            "probability": self.probability,
            "hits": self.hits,
        }


class FaultBook:
    def __init__(self, rng: random.Random | None = None) -> None:
        self.faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._rng = rng or random.Random()

    def add(self, spec: dict[str, Any]) -> Fault:
        if not isinstance(spec, dict) or "path" not in spec:
            raise FaultSpecError("a fault needs at least `path` (a regular expression)")
        try:
            pattern = re.compile(spec["path"])
        except re.error as exc:
            raise FaultSpecError(f"bad path regex: {exc}") from exc
        status = spec.get("status")
        latency = int(spec.get("latency_ms", 0))
        drop = bool(spec.get("drop", False))
        if status is None and not latency and not drop:
            raise FaultSpecError("a fault needs `status`, `latency_ms` or `drop`")
        probability = float(spec.get("probability", 1.0))
        if not 0.0 <= probability <= 1.0:
            raise FaultSpecError("probability must be within [0, 1]")
        count = spec.get("count")
        fault = Fault(
            id=next(self._ids),
            method=str(spec.get("method", "*")).upper(),
            path=pattern,
            status=int(status) if status is not None else None,
            body=spec.get("body"),
            headers={str(k): str(v) for k, v in (spec.get("headers") or {}).items()},
            latency_ms=latency,
            drop=drop,
            count=int(count) if count is not None else None,
            probability=probability,
        )
        self.faults.append(fault)
        return fault

    def match(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.count is not None and fault.count <= 0:
                continue
            if fault.method not in ("*", method.upper()):
                continue
            if not fault.path.search(path):
                continue
            if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            if fault.count is not None:
                fault.count -= 1
            fault.hits += 1
            return fault
        return None

    def clear(self) -> None:
        self.faults.clear()
