"""Deal visibility: `GET /v1/deals/{id}/permittedUsers` follows `visible_to`, the plan, the
owner's visibility group and the deal's followers (`POST /v1/deals/{id}/followers`)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient


async def _world(client: TestClient, *, plan: str = "growth") -> dict[str, Any]:
    """A company with an admin, an owner and three members in groups Sales > Sales EU and
    Support; one deal owned by the owner."""
    groups = {"Sales": None, "Sales EU": "Sales", "Support": None}
    seeded = await client.post(
        "/_emulator/seed",
        json={
            "company": {"name": "Visible GmbH", "plan": plan, "visibility_groups": groups},
            "users": [
                {"name": "Ada Admin", "email": "ada@v.test", "is_admin": True},
                {"name": "Otto Owner", "email": "otto@v.test", "visibility_group": "Sales"},
                {"name": "Sam Sales", "email": "sam@v.test", "visibility_group": "Sales"},
                {"name": "Eve Europe", "email": "eve@v.test", "visibility_group": "Sales EU"},
                {"name": "Sue Support", "email": "sue@v.test", "visibility_group": "Support"},
            ],
        },
    )
    body = await seeded.json()
    ids = [u["id"] for u in body["users"]]
    deal = await client.post(
        "/_emulator/seed",
        json={"company_id": body["company_id"], "deals": [{"title": "D", "owner_id": ids[1]}]},
    )
    token = await client.post("/_emulator/tokens", json={"user_id": ids[0]})
    return {
        "users": dict(zip(("admin", "owner", "sales", "europe", "support"), ids, strict=True)),
        "deal": (await deal.json())["deals"][0],
        "auth": {"Authorization": f"Bearer {(await token.json())['access_token']}"},
    }


async def _permitted(client: TestClient, world: dict[str, Any], visible_to: int) -> set[str]:
    await client.patch(f"/_emulator/deals/{world['deal']}", json={"visible_to": visible_to})
    response = await client.get(f"/v1/deals/{world['deal']}/permittedUsers", headers=world["auth"])
    assert response.status == 200
    ids = (await response.json())["data"]
    names = {v: k for k, v in world["users"].items()}
    return {names[i] for i in ids}


async def test_growth_plans_show_a_private_deal_to_owner_followers_and_admins(
    client: TestClient,
) -> None:
    world = await _world(client)
    assert await _permitted(client, world, 1) == {"admin", "owner"}
    followed = await client.post(
        f"/v1/deals/{world['deal']}/followers",
        json={"user_id": world["users"]["support"]},
        headers=world["auth"],
    )
    assert followed.status == 200
    assert await _permitted(client, world, 1) == {"admin", "owner", "support"}
    assert await _permitted(client, world, 3) == set(world["users"])


async def test_premium_plans_follow_the_owners_visibility_group_and_its_sub_groups(
    client: TestClient,
) -> None:
    world = await _world(client, plan="premium")
    assert await _permitted(client, world, 1) == {"admin", "owner"}
    assert await _permitted(client, world, 3) == {"admin", "owner", "sales"}
    assert await _permitted(client, world, 5) == {"admin", "owner", "sales", "europe"}
    assert await _permitted(client, world, 7) == set(world["users"])


async def test_a_follower_sees_a_deal_its_visibility_hides_and_is_listed_once(
    client: TestClient,
) -> None:
    world = await _world(client, plan="premium")
    for _ in range(2):
        await client.post(
            f"/_emulator/deals/{world['deal']}/followers",
            json={"user_id": world["users"]["support"]},
        )
    assert await _permitted(client, world, 3) == {"admin", "owner", "sales", "support"}
    listed = await client.get(f"/v1/deals/{world['deal']}/followers", headers=world["auth"])
    assert [f["user_id"] for f in (await listed.json())["data"]] == [world["users"]["support"]]


async def test_another_companys_or_a_deleted_deal_is_not_found(
    client: TestClient, auth: dict[str, str]
) -> None:
    world = await _world(client)
    other = await client.get(f"/v1/deals/{world['deal']}/permittedUsers", headers=auth)
    assert other.status == 404
    await client.delete(f"/_emulator/deals/{world['deal']}")
    gone = await client.get(f"/v1/deals/{world['deal']}/permittedUsers", headers=world["auth"])
    assert gone.status == 404


async def test_a_follower_must_be_a_user_of_the_company(
    client: TestClient, auth: dict[str, str]
) -> None:
    world = await _world(client)
    refused = await client.post(
        f"/v1/deals/{world['deal']}/followers", json={"user_id": 1}, headers=world["auth"]
    )
    assert refused.status == 400
