"""The emulator's whole mutable state, shared by every handler through the aiohttp app."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .clock import Clock
from .config import EmulatorConfig
from .faults import FaultBook
from .ratelimit import RateLimiter
from .seed import seed_demo
from .store import Store
from .webhooks import WebhookDispatcher


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.clock = Clock()
        self.store = Store()
        self.faults = FaultBook()
        self.requests: list[dict[str, Any]] = []
        self.limiter = RateLimiter(
            clock=self.clock,
            window_seconds=config.burst_window_seconds,
            daily_budget=config.daily_token_budget,
            daily_write_requests=config.daily_write_requests,
            daily_token_headers=config.daily_token_headers,
        )
        self.webhooks = WebhookDispatcher(self)
        self.uninstall_calls: list[dict[str, Any]] = []
        self.demo: dict[str, Any] | None = None
        if config.seed_demo:
            self.demo = seed_demo(self.store, self.clock.now())

    def reset(self, *, seed: bool | None = None) -> dict[str, Any] | None:
        self.store = Store()
        self.faults.clear()
        self.requests.clear()
        self.limiter.reset()
        self.webhooks.reset()
        self.uninstall_calls.clear()
        self.clock.reset()
        self.demo = None
        if self.config.seed_demo if seed is None else seed:
            self.demo = seed_demo(self.store, self.clock.now())
        return self.demo

    def base_url(self, request: web.Request) -> str:
        if self.config.public_base_url:
            return self.config.public_base_url.rstrip("/")
        return f"{request.scheme}://{request.host}"


EMULATOR_KEY: web.AppKey[Emulator] = web.AppKey("pipedrive_emulator", Emulator)


def emulator_of(request: web.Request) -> Emulator:
    return request.app[EMULATOR_KEY]
