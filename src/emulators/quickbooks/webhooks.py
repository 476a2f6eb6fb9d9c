"""Outgoing webhooks: classic ``eventNotifications`` or CloudEvents, signed, batched, retried.

Signature: ``intuit-signature`` = base64(HMAC-SHA256(verifier token, raw body)) (§8.3).
Retries follow Intuit's schedule (10s, 20s, 30s, 5m, 20m, 2h, 4h, 6h, then every 6h), scaled
by ``retry_scale``; later deliveries for a realm wait until the failing one is acknowledged.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import aiohttp

from .clock import Clock
from .config import EmulatorConfig
from .store import Change

RETRY_SCHEDULE = [10, 20, 30, 300, 1200, 7200, 14400, 21600]
VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Merge": "merged",
    # [U] third-party code only: voided / emailed.
    "Void": "voided",
    "Emailed": "emailed",
}


def sign(body: bytes, verifier_token: str) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _utc_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _utc_ns(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def classic_payload(realm_id: str, changes: list[Change]) -> dict[str, Any]:
    return {
        "eventNotifications": [
            {
                "realmId": realm_id,
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": c.entity,
                            "id": c.entity_id,
                            "operation": c.operation,
                            # The 2025 Intuit sample uses UTC with milliseconds.
                            "lastUpdated": _utc_ms(c.at),
                        }
                        for c in changes
                    ]
                },
            }
        ]
    }


def cloudevents_payload(changes: list[Change], source: str) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": f"qbo.{c.entity.lower()}.{VERBS.get(c.operation, c.operation.lower())}.v1",
            "datacontenttype": "application/json",
            "time": _utc_ns(c.at),
            "intuitentityid": c.entity_id,
            "intuitaccountid": c.realm_id,
            "data": {},
        }
        for c in changes
    ]


class Webhooks:
    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.clock = clock
        self.client_id = config.client_id
        self.url = config.webhook_url
        self.format = config.webhook_format
        self.verifier_token = config.webhook_verifier_token
        self.enabled = config.webhook_url is not None
        self.aggregation_seconds = config.webhook_aggregation_seconds
        self.retry_scale = config.webhook_retry_scale
        self.timeout = config.webhook_timeout_seconds
        self.pending: list[Change] = []
        self.deliveries: list[dict[str, Any]] = []
        self._queues: dict[str, asyncio.Queue[bytes]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def source(self) -> str:
        digest = hashlib.sha256(self.client_id.encode()).digest()
        return "intuit." + base64.b64encode(digest).decode()

    def settings(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "format": self.format,
            "verifier_token": self.verifier_token,
            "enabled": self.enabled,
            "aggregation_seconds": self.aggregation_seconds,
            "retry_scale": self.retry_scale,
            "timeout_seconds": self.timeout,
        }

    def configure(self, spec: dict[str, Any]) -> None:
        if "url" in spec:
            self.url = spec["url"]
            self.enabled = bool(spec["url"])
        if "format" in spec:
            if spec["format"] not in ("classic", "cloudevents"):
                raise ValueError("format must be classic or cloudevents")
            self.format = spec["format"]
        if "verifier_token" in spec:
            self.verifier_token = str(spec["verifier_token"])
        if "enabled" in spec:
            self.enabled = bool(spec["enabled"])
        if "aggregation_seconds" in spec:
            self.aggregation_seconds = float(spec["aggregation_seconds"])
        if "retry_scale" in spec:
            self.retry_scale = float(spec["retry_scale"])
        if "timeout_seconds" in spec:
            self.timeout = float(spec["timeout_seconds"])

    # ---------------------------------------------------------------- intake

    def on_change(self, change: Change) -> None:
        if not self.enabled or not self.url:
            return
        self.pending.append(change)
        if self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._flush_handle = loop.call_later(self.aggregation_seconds, self.flush)

    def flush(self) -> None:
        """Turn pending changes into one signed payload per realm and queue it."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        by_realm: dict[str, list[Change]] = defaultdict(list)
        for change in self.pending:
            by_realm[change.realm_id].append(change)
        self.pending = []
        for realm_id, changes in by_realm.items():
            if self.format == "cloudevents":
                payload: Any = cloudevents_payload(changes, self.source)
            else:
                payload = classic_payload(realm_id, changes)
            body = json.dumps(payload, separators=(",", ":")).encode()
            queue = self._queues.setdefault(realm_id, asyncio.Queue())
            queue.put_nowait(body)
            worker = self._workers.get(realm_id)
            if worker is None or worker.done():
                self._workers[realm_id] = asyncio.create_task(self._work(realm_id, queue))

    # ---------------------------------------------------------------- delivery

    async def _work(self, realm_id: str, queue: asyncio.Queue[bytes]) -> None:
        while True:
            body = await queue.get()
            try:
                attempt = 0
                while not await self._deliver(realm_id, body, attempt):
                    delay = RETRY_SCHEDULE[min(attempt, len(RETRY_SCHEDULE) - 1)]
                    attempt += 1
                    await asyncio.sleep(delay * self.retry_scale)
            finally:
                queue.task_done()

    async def _deliver(self, realm_id: str, body: bytes, attempt: int) -> bool:
        if not self.url:
            return True
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        now = self.clock.now().astimezone()
        headers = {
            "content-type": "application/json; charset=utf-8",
            "accept": "application/json",
            "user-agent": "intuit_notification_server/0.1",
            "intuit-signature": sign(body, self.verifier_token),
            "intuit-created-time": now.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "intuit-t-id": str(uuid.uuid4()),
            "intuit-notification-schema-version": "0.1",
        }
        record: dict[str, Any] = {
            "realm_id": realm_id,
            "url": self.url,
            "attempt": attempt + 1,
            "body": body.decode(),
            "signature": headers["intuit-signature"],
            "time": self.clock.now().isoformat(),
        }
        try:
            async with self._session.post(
                self.url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                record["status"] = resp.status
                ok = resp.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            record["error"] = repr(exc)
            ok = False
        record["delivered"] = ok
        self.deliveries.append(record)
        return ok

    async def drain(self, wait_seconds: float = 10.0) -> None:
        """Flush now and wait until every queued delivery was acknowledged (tests/demos)."""
        self.flush()
        queues = list(self._queues.values())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in queues)), wait_seconds)

    def reset(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self.pending.clear()
        self.deliveries.clear()
        for task in self._workers.values():
            task.cancel()
        self._workers.clear()
        self._queues.clear()

    async def close(self) -> None:
        self.reset()
        if self._session is not None:
            await self._session.close()
