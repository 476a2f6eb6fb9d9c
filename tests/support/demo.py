"""The demo stack (both emulators, the service, the host page) on free ports, for tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import aiohttp

from emulators.pipedrive.jwt import sign_extension_token
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY, US_REALM
from entrypoints.settings import AppSettings

ADMIN = 21000001  # Alice Admin, en_US


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def demo_stack(
    settings: AppSettings, quickbooks_realm: str = US_REALM
) -> AsyncIterator[DemoStack]:
    http_port = free_port()
    settings = replace(settings, public_url=f"http://127.0.0.1:{http_port}")
    stack = await DemoStack.start(
        settings, grpc_port=0, http_port=http_port, quickbooks_realm=quickbooks_realm
    )
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
