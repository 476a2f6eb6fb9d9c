"""The bench's companies (run in the server process, which holds the service's token store):
each a Pipedrive company with an organization and deals, connected to a QuickBooks realm of its
own, made through the emulators' admin APIs and connected through the token store, as
``Emulators.connect`` does for the demo company. Their invoices are created later, by the
driver, through the gRPC API (``bench.workload``): nothing here writes the service's tables
but its connections.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from application.ports.connections import TokenStore
from domain.connection import Connection, OAuthTokens, Vendor
from entrypoints.emulated import Emulators

COMPANIES = 100
DEALS_PER_COMPANY = 10
FIRST_REALM = 9130354850000001  # the demo realms are 9130354840911234 and ...922468


def _pipedrive_seed(n: int) -> dict[str, Any]:
    return {
        "company": {
            "name": f"Bench Company {n}",
            "domain": f"bench-company-{n}",
            "country": "US",
            "default_currency": "USD",
        },
        "organizations": [{"name": f"Bench Customer {n} Inc", "address": f"{n} Main St"}],
        "deals": [
            {"title": f"Deal {n}.{d}", "value": 300, "currency": "USD", "org_index": 0}
            for d in range(DEALS_PER_COMPANY)
        ],
    }


async def _connect(
    emulators: Emulators, token_store: TokenStore, company_id: int, realm_id: str, zone: str
) -> None:
    """``Emulators.connect`` for a company other than the demo's (it mints the Pipedrive token
    of the emulator's first company)."""
    now = datetime.now(UTC)
    pipedrive = await emulators.admin("pipedrive", "POST", "tokens", company_id=company_id)
    await token_store.save(
        Connection(
            company_id=str(company_id),
            vendor=Vendor.PIPEDRIVE,
            external_id=str(pipedrive["company_id"]),
            tokens=OAuthTokens(
                pipedrive["access_token"],
                pipedrive["refresh_token"],
                now + timedelta(seconds=int(pipedrive["expires_in"])),
            ),
            display_name=f"Bench Company {company_id}",
            api_domain=pipedrive["api_domain"],
            connected_by=str(pipedrive["user_id"]),
            connected_at=now,
            updated_at=now,
            locale=await emulators.pipedrive_locale(pipedrive),  # as the install keeps it
        )
    )
    quickbooks = await emulators.admin("quickbooks", "POST", "tokens", realm_id=realm_id)
    await token_store.save(
        Connection(
            company_id=str(company_id),
            vendor=Vendor.QUICKBOOKS,
            external_id=realm_id,
            tokens=OAuthTokens(
                quickbooks["access_token"],
                quickbooks["refresh_token"],
                now + timedelta(seconds=int(quickbooks["expires_in"])),
                now + timedelta(seconds=int(quickbooks["x_refresh_token_expires_in"])),
            ),
            display_name=f"Bench Books {realm_id}",
            environment="sandbox",
            time_zone=zone,  # as the connect flow keeps it from CompanyInfo.DefaultTimeZone
            connected_by="bench",
            connected_at=now,
            updated_at=now,
        )
    )


async def build(
    emulators: Emulators, token_store: TokenStore, companies: int = COMPANIES
) -> list[dict[str, Any]]:
    """``companies`` connected companies: ``[{"company", "realm", "deals": [...]}]``."""
    realms = [str(FIRST_REALM + n) for n in range(companies)]
    await emulators.admin(
        "quickbooks",
        "POST",
        "seed",
        companies=[
            {"realm_id": realm, "name": f"Bench Books {n}", "country": "US"}
            for n, realm in enumerate(realms)
        ],
    )
    fleet = []
    for n, realm in enumerate(realms):
        seeded = await emulators.admin("pipedrive", "POST", "seed", _pipedrive_seed(n))
        fleet.append(
            {"company": str(seeded["company_id"]), "realm": realm, "deals": seeded["deals"]}
        )
    companies_seeded = (await emulators.admin("quickbooks", "GET", "companies"))["companies"]
    zones = {c["realm_id"]: c["time_zone"] for c in companies_seeded}
    gate = asyncio.Semaphore(8)

    async def connect(entry: dict[str, Any]) -> None:
        realm = entry["realm"]
        async with gate:
            await _connect(emulators, token_store, int(entry["company"]), realm, zones[realm])

    await asyncio.gather(*(connect(entry) for entry in fleet))
    return fleet
