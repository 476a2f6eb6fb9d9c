"""A plain client that only knows Intuit's documented URLs works unchanged (§1, §2, §10).

It discovers the endpoints, walks the OAuth redirect, and then behaves like python-quickbooks:
POST query with application/text, create with read-only noise, sparse update, send, PDF.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
from aiohttp.test_utils import TestServer

from conftest import make_config
from emulators.quickbooks.app import create_app

CLIENT_ID, CLIENT_SECRET = "third-party", "s3cret"
REDIRECT = "http://localhost:8000/callback"


async def test_documented_flow_end_to_end():
    config = make_config(
        auto_approve=True,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT],
    )
    server = TestServer(create_app(config), host="127.0.0.1", port=0)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/.well-known/openid_sandbox_configuration/") as resp:
                discovery = await resp.json()
            authorize = (
                discovery["authorization_endpoint"]
                + "?"
                + "&".join(
                    [
                        f"client_id={CLIENT_ID}",
                        "response_type=code",
                        "scope=com.intuit.quickbooks.accounting",
                        f"redirect_uri={quote(REDIRECT, safe='')}",
                        "state=abc",
                    ]
                )
            )
            async with http.get(authorize, allow_redirects=False) as resp:
                callback = parse_qs(urlsplit(resp.headers["Location"]).query)
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            async with http.post(
                discovery["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": callback["code"][0],
                    "redirect_uri": REDIRECT,
                },
                headers={
                    "Authorization": f"Basic {basic}",
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            ) as resp:
                tokens = await resp.json()
            realm = callback["realmId"][0]
            api = f"{base}/v3/company/{realm}"
            headers = {
                "Authorization": f"Bearer {tokens['access_token']}",
                "Accept": "application/json",
                "User-Agent": "python-quickbooks V3 library",
            }
            async with http.post(
                f"{api}/query?minorversion=75",
                data="SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'",
                headers={**headers, "Content-Type": "application/text"},
            ) as resp:
                customer = (await resp.json())["QueryResponse"]["Customer"][0]
            create = {
                "CustomerRef": {"value": customer["Id"], "name": "", "type": ""},
                "SyncToken": 0,
                "sparse": False,
                "TotalAmt": "",
                "DueDate": "",
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": 150,
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": "1"},
                            "Qty": 0,
                            "UnitPrice": 0,
                        },
                    }
                ],
            }
            async with http.post(
                f"{api}/invoice?minorversion=75&requestid=tp-1",
                data=json.dumps(create),
                headers={**headers, "Content-Type": "application/json"},
            ) as resp:
                assert resp.status == 200
                assert resp.headers["intuit_tid"]
                invoice = (await resp.json())["Invoice"]
            update = {
                "Id": invoice["Id"],
                "SyncToken": invoice["SyncToken"],
                "sparse": True,
                "BillEmail": {"Address": "ap@amy.example"},
            }
            async with http.post(
                f"{api}/invoice?operation=update&minorversion=75", json=update, headers=headers
            ) as resp:
                assert (await resp.json())["Invoice"]["SyncToken"] == "1"
            async with http.post(
                f"{api}/invoice/{invoice['Id']}/send?minorversion=75",
                headers={**headers, "Content-Type": "application/octet-stream"},
            ) as resp:
                assert (await resp.json())["Invoice"]["EmailStatus"] == "EmailSent"
            async with http.get(
                f"{api}/invoice/{invoice['Id']}/pdf",
                headers={**headers, "Accept": "application/pdf, application/json"},
            ) as resp:
                assert (await resp.read()).startswith(b"%PDF-")
            async with http.post(
                discovery["revocation_endpoint"],
                json={"token": tokens["refresh_token"]},
                headers={"Authorization": f"Basic {basic}"},
            ) as resp:
                assert resp.status == 200
    finally:
        await server.close()
