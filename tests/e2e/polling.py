"""Bounded polling for what a background job finishes: ask again until the answer is the
expected one or the time is up, then let the test's assertion judge the last answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    seconds: float = 20.0,
    interval: float = 0.05,
) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if until(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)
