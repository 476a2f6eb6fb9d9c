"""Both vendor emulators in this process, and a company connected to them.

Used by ``dealbooks demo`` and by the end-to-end tests: the service talks to the emulators over
real HTTP exactly as it would talk to QuickBooks and Pipedrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from application.ports.connections import TokenStore
from domain.connection import Connection, OAuthTokens, Vendor
from emulators.pipedrive.app import create_app as create_pipedrive
from emulators.pipedrive.config import EmulatorConfig as PipedriveConfig
from emulators.quickbooks.app import create_app as create_quickbooks
from emulators.quickbooks.config import EmulatorConfig as QuickBooksConfig
from emulators.quickbooks.config import Limits

US_REALM = "9130354840911234"
INTL_REALM = "9130354840922468"  # the UK company: VAT codes, GBP, multicurrency
_REALM_NAMES = {US_REALM: "Demo Books (US)", INTL_REALM: "Demo Books (UK)"}
DEMO_COMPANY = "13000001"


@dataclass
class Emulators:
    """The QuickBooks and Pipedrive emulators on local ports (0: any free port)."""

    host: str = "127.0.0.1"
    quickbooks_port: int = 0
    pipedrive_port: int = 0
    public_url: str = "http://127.0.0.1:8080"
    quickbooks_limits: Limits = field(default_factory=Limits)
    quickbooks_url: str = ""
    pipedrive_url: str = ""
    pipedrive_app: web.Application | None = None
    _runners: dict[str, web.AppRunner] = field(default_factory=dict)
    _sites: dict[str, web.TCPSite] = field(default_factory=dict)

    async def start(self) -> None:
        quickbooks = create_quickbooks(
            QuickBooksConfig(
                auto_approve=True,
                redirect_uris=[f"{self.public_url}/oauth/quickbooks/callback"],
                webhook_url=f"{self.public_url}/webhooks/quickbooks",
                limits=self.quickbooks_limits,
                refresh_grace_seconds=0,
            )
        )
        self.pipedrive_app = create_pipedrive(
            PipedriveConfig(
                auto_approve=True, callback_url=f"{self.public_url}/oauth/pipedrive/callback"
            )
        )
        self.quickbooks_url = await self._serve("quickbooks", quickbooks, self.quickbooks_port)
        self.pipedrive_url = await self._serve("pipedrive", self.pipedrive_app, self.pipedrive_port)

    async def _serve(self, vendor: str, app: web.Application, port: int) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port)
        await site.start()
        self._runners[vendor] = runner
        self._sites[vendor] = site
        return f"http://{self.host}:{runner.addresses[0][1]}"

    async def take_offline(self, vendor: str) -> None:
        """An outage: the vendor's port refuses connections and open ones are cut, while
        everything it stores is kept for ``bring_online``."""
        site = self._sites.pop(vendor)
        await site.stop()
        server = self._runners[vendor].server
        if server is not None:
            for connection in server.connections:
                connection.force_close()

    async def bring_online(self, vendor: str) -> None:
        """The end of ``take_offline``: the same port, the same data."""
        if vendor in self._sites:
            return
        url = self.quickbooks_url if vendor == "quickbooks" else self.pipedrive_url
        site = web.TCPSite(self._runners[vendor], self.host, int(url.rsplit(":", 1)[1]))
        await site.start()
        self._sites[vendor] = site

    async def stop(self) -> None:
        for runner in reversed(list(self._runners.values())):
            await runner.cleanup()
        self._runners.clear()
        self._sites.clear()

    async def admin(
        self,
        vendor: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Any:
        """Call an emulator's admin API; the JSON body is ``body`` and/or keyword fields."""
        base = self.quickbooks_url if vendor == "quickbooks" else self.pipedrive_url
        payload = {**(body or {}), **fields}
        return await _json(method, f"{base}/_emulator/{path}", json=payload or None)

    async def pipedrive_locale(self, token: dict[str, Any]) -> str:
        """The locale of the user a minted Pipedrive token is for, read as the install flow
        reads it (``GET /v1/users/me``) and keeps it on the connection."""
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        me = await _json("GET", f"{self.pipedrive_url}/api/v1/users/me", headers=bearer)
        return str(me["data"].get("locale") or "en_US")

    async def connect(self, token_store: TokenStore, realm: str = US_REALM) -> None:
        """Connect the demo Pipedrive company and a QuickBooks company (the US one unless said)
        without the browser flow."""
        now = datetime.now(UTC)
        pipedrive = await self.admin("pipedrive", "POST", "tokens")
        await token_store.save(
            Connection(
                company_id=DEMO_COMPANY,
                vendor=Vendor.PIPEDRIVE,
                external_id=str(pipedrive["company_id"]),
                tokens=OAuthTokens(
                    pipedrive["access_token"],
                    pipedrive["refresh_token"],
                    now + timedelta(seconds=int(pipedrive["expires_in"])),
                ),
                display_name="Acme Demo GmbH",
                api_domain=pipedrive["api_domain"],
                connected_by=str(pipedrive["user_id"]),
                connected_at=now,
                updated_at=now,
                user_id=str(pipedrive["user_id"]),
                locale=await self.pipedrive_locale(pipedrive),
            )
        )
        await self.connect_quickbooks(token_store, realm)

    async def connect_quickbooks(
        self, token_store: TokenStore, realm: str = US_REALM, company_id: str = DEMO_COMPANY
    ) -> None:
        """Connect a Pipedrive company (the demo's unless said) to one of the emulator's
        QuickBooks companies."""
        now = datetime.now(UTC)
        quickbooks = await self.admin("quickbooks", "POST", "tokens", realm_id=realm)
        # As the connect flow keeps it from CompanyInfo.DefaultTimeZone.
        companies = (await self.admin("quickbooks", "GET", "companies"))["companies"]
        zone = next((c["time_zone"] for c in companies if c["realm_id"] == realm), "")
        await token_store.save(
            Connection(
                company_id=company_id,
                vendor=Vendor.QUICKBOOKS,
                external_id=realm,
                tokens=OAuthTokens(
                    quickbooks["access_token"],
                    quickbooks["refresh_token"],
                    now + timedelta(seconds=int(quickbooks["expires_in"])),
                    now + timedelta(seconds=int(quickbooks["x_refresh_token_expires_in"])),
                ),
                display_name=_REALM_NAMES.get(realm, realm),
                environment="sandbox",
                time_zone=zone,
                connected_by="demo",
                connected_at=now,
                updated_at=now,
            )
        )


async def _json(method: str, url: str, **options: Any) -> Any:
    """The JSON answer of one request to an emulator (RuntimeError with its text on a 4xx/5xx)."""
    async with aiohttp.ClientSession() as session, session.request(method, url, **options) as resp:
        if resp.status >= 400:
            raise RuntimeError(f"{method} {url}: {resp.status} {await resp.text()}")
        return await resp.json()
