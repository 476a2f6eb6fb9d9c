"""Who may see a deal, as `GET /v1/deals/{id}/permittedUsers` answers it (pure rules over
the store; the HTTP side is ``visibility``).

The rule, from the `visible_to` descriptions in Pipedrive's OpenAPI files:

- Lite / Growth / Professional plans (`Company.plan == "growth"`): `1` owner & followers,
  `3` entire company;
- Premium / Ultimate (`"premium"`): `1` owner only, `3` owner's visibility group, `5` owner's
  visibility group and sub-groups, `7` entire company.

Approximations, [U] (not in the spec, modelled from Pipedrive's help centre as we read it):

- admins see every deal, whatever its visibility;
- followers see the deal whatever its visibility, on every plan (the help centre says a
  follower keeps access to the item);
- on a growth plan, `5` and `7` (premium values) mean the entire company;
- a premium user without a group is in the company's default group (named ``""``);
- only active users exist here (the emulator does not deactivate users);
- a deleted deal answers 404 "Deal not found" (Pipedrive keeps deleted deals 30 days; what
  it answers for them is not documented).
"""

from __future__ import annotations

from typing import Any

from .store import Record, Store, User

DEFAULT_GROUP = ""


def _group_chain(store: Store, company_id: int, group: str) -> list[str]:
    """``group`` and its ancestors, nearest first (a cycle stops the walk)."""
    parents = store.companies[company_id].visibility_groups
    chain = [group]
    while (parent := parents.get(chain[-1])) is not None and parent not in chain:
        chain.append(parent)
    return chain


def followers_of(store: Store, deal_id: int) -> set[int]:
    return {f["user_id"] for f in store.deal_followers.get(deal_id, [])}


def may_see(store: Store, deal: Record, user: User) -> bool:
    """Whether ``user`` is permitted to access ``deal`` (see the module's rule)."""
    if user.company_id != deal.company_id:
        return False
    owner_id = deal.data["owner_id"]
    if user.is_admin or user.id == owner_id or user.id in followers_of(store, deal.data["id"]):
        return True
    level = int(deal.data.get("visible_to") or 3)
    company = store.companies[deal.company_id]
    if company.plan != "premium":
        return level != 1
    if level == 7:
        return True
    if level == 1:
        return False
    owner = store.users.get(owner_id)
    owner_group = (owner.visibility_group if owner else None) or DEFAULT_GROUP
    user_group = user.visibility_group or DEFAULT_GROUP
    if level == 3:
        return user_group == owner_group
    # 5: the owner's group and its sub-groups (any group under it, however deep).
    return owner_group in _group_chain(store, deal.company_id, user_group)


def permitted_users(store: Store, deal: Record) -> list[int]:
    return sorted(u.id for u in store.users_of(deal.company_id) if may_see(store, deal, u))


def add_follower(store: Store, deal: Record, user_id: int, add_time: str) -> dict[str, Any]:
    """Follow the deal (a user already following it keeps their record)."""
    followers = store.deal_followers.setdefault(deal.data["id"], [])
    for existing in followers:
        if existing["user_id"] == user_id:
            return existing
    record = {
        "user_id": user_id,
        "id": store.next_id("follower"),
        "deal_id": deal.data["id"],
        "add_time": add_time,
    }
    followers.append(record)
    return record
