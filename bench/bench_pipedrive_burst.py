"""A burst of 500 Pipedrive calls for one company through the real adapter against the emulator
at its burst limit (160 per 2-second window for an OAuth app): how long it takes, how many 429s
reach the caller, and the most calls the emulator saw in any 2-second window."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import aiohttp

from adapters.in_memory.connections import (
    InMemoryTokenStore,
)
from application.errors import UpstreamUnavailableError
from bench.gateways import pipedrive_gateway
from bench.harness import Figure
from domain.connection import Connection, OAuthTokens, Vendor
from entrypoints.emulated import Emulators

CALLS = 500
WINDOW = 2.0


def busiest_window(times: list[float]) -> int:
    times = sorted(times)
    best = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= WINDOW:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run() -> list[Figure]:
    emulators = Emulators()
    await emulators.start()
    try:
        minted = await emulators.admin("pipedrive", "POST", "tokens")
        await emulators.admin("pipedrive", "DELETE", "requests")
        store = InMemoryTokenStore()
        now = datetime.now(UTC)
        await store.save(
            Connection(
                company_id="1",
                vendor=Vendor.PIPEDRIVE,
                external_id=str(minted["company_id"]),
                tokens=OAuthTokens(
                    minted["access_token"], minted["refresh_token"], now + timedelta(hours=1)
                ),
                api_domain=minted["api_domain"],
            )
        )
        async with aiohttp.ClientSession() as session:
            gateway = pipedrive_gateway(session, store, emulators.pipedrive_url)
            started = time.monotonic()
            results = await asyncio.gather(
                *(gateway.current_user("1") for _ in range(CALLS)), return_exceptions=True
            )
            duration = time.monotonic() - started
        log = (await emulators.admin("pipedrive", "GET", "requests?path=users/me&limit=1000"))[
            "requests"
        ]
    finally:
        await emulators.stop()
    throttled = sum(isinstance(r, UpstreamUnavailableError) for r in results)
    at_emulator = sum(r["status"] == 429 for r in log)
    times = [datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp() for r in log]
    return [
        Figure(
            "Pipedrive burst: 500 calls for one company",
            duration,
            "s",
            note=f"{at_emulator} 429s at the emulator; paced below the 2-second window",
        ),
        Figure("Pipedrive 429s that reached the caller", throttled, "count", goal="0"),
        Figure(
            "Pipedrive most calls in any 2-second window",
            busiest_window(times),
            "calls",
            goal="<= 160 (the emulator's burst limit)",
        ),
    ]
