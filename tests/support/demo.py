"""The demo stack (both emulators, the service, the host page) on free ports, for tests."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import aiohttp

from emulators.pipedrive.jwt import sign_extension_token
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.settings import AppSettings, PipedriveSettings, QuickBooksSettings

ADMIN = 21000001  # Alice Admin, en_US


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def demo_stack(
    settings: AppSettings, quickbooks_realm: str = US_REALM
) -> AsyncIterator[DemoStack]:
    for attempt in range(1, 4):
        # The port is free when chosen but bound only once the emulators run (their webhooks
        # need the URL first): one of the machine's own ephemeral ports may take it meanwhile.
        http_port = free_port()
        public = replace(settings, public_url=f"http://127.0.0.1:{http_port}")
        try:
            stack = await DemoStack.start(
                public, grpc_port=0, http_port=http_port, quickbooks_realm=quickbooks_realm
            )
            break
        except OSError as exc:  # DemoStack.start stopped what it had started
            if exc.errno != errno.EADDRINUSE or attempt == 3:
                raise
    try:
        yield stack
    finally:
        await stack.stop()


def ui_token(demo: DemoStack, user: int = ADMIN, company: str = DEMO_COMPANY) -> str:
    """The JWT Pipedrive would sign for the extension (GET_SIGNED_TOKEN)."""
    return sign_extension_token(demo.settings.pipedrive.jwt_secret, int(company), user)


async def disconnect_quickbooks(demo: DemoStack) -> None:
    """What an admin's Disconnect does, through the JSON API."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{demo.settings.public_url}/api/v1/ConnectionService/DisconnectQuickBooks",
            json={"name": f"companies/{DEMO_COMPANY}/connection"},
            headers={"Authorization": f"Bearer {ui_token(demo)}"},
        ) as answer,
    ):
        assert answer.status == 200, await answer.text()


async def started_emulators(
    settings: AppSettings, **changes: object
) -> tuple[Emulators, AppSettings, int]:
    """Both emulators, started, and ``settings`` (with ``changes``) pointing a service at them
    on a free HTTP port (also returned), for tests that run processes of their own."""
    http_port = free_port()
    emulators = Emulators(public_url=f"http://127.0.0.1:{http_port}")
    await emulators.start()
    settings = replace(
        settings,
        public_url=f"http://127.0.0.1:{http_port}",
        quickbooks=QuickBooksSettings(base_url=emulators.quickbooks_url),
        pipedrive=PipedriveSettings(oauth_url=emulators.pipedrive_url),
        **changes,  # type: ignore[arg-type]
    )
    return emulators, settings, http_port


def process_env(database_url: str, emulators: Emulators, **variables: str) -> dict[str, str]:
    """The environment of a `dealbooks` process on the test database and the emulators."""
    return {
        **os.environ,
        "DEALBOOKS_DATABASE_URL": database_url,
        "DEALBOOKS_QUICKBOOKS_BASE_URL": emulators.quickbooks_url,
        "DEALBOOKS_PIPEDRIVE_OAUTH_URL": emulators.pipedrive_url,
        "DEALBOOKS_LOG_FORMAT": "json",
        **variables,
    }
