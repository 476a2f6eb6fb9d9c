"""The Pipedrive OAuth scopes dealbooks needs, each with the calls that need it.

Pipedrive takes an app's scopes from its Developer Hub registration, not from the authorize
URL: this table is what to tick there (README, "Scopes"), and what an install is checked
against. Each call's accepted scopes come from the ``security`` of its operation in Pipedrive's
OpenAPI files (``../shared/reference/pipedrive-openapi``, reference ``pipedrive.md`` §3.8);
``tests/integration/pipedrive/test_scopes.py`` runs every call of the adapter against the
emulator, which refuses a call outside its token's scopes with 403 as Pipedrive does, with
exactly these scopes (all pass) and with each one left out (some call is refused).

Narrower choices that do not serve:

- the field catalogue (``dealFields``, ``organizationFields``, ``personFields``) needs no
  ``admin``: ``deals:full`` and ``contacts:read`` read it;
- ``admin`` is the only scope that lets an app create, list and delete its own webhooks
  (``/v1/webhooks``), which tell dealbooks that a deal, organization or person was deleted;
- creating the app's deal fields (``POST /api/v2/dealFields``) takes ``deal-fields:full`` or
  ``admin``, not ``deals:full``; ``admin``, held for the webhooks, covers it, so no scope is
  added (were ``admin`` ever dropped, ``deal-fields:full`` would be the one to ask for);
  writing them on a deal (``PATCH /api/v2/deals/{id}``) is ``deals:full``;
- the pipelines and stages the invoicing rules are picked from (``GET /api/v2/pipelines``,
  ``/stages``) take ``deals:read``, ``deals:full`` or ``admin``: both held already;
- who may see a deal (``GET /v1/deals/{id}/permittedUsers``) takes ``deals:read`` or
  ``deals:full``: ``deals:full``, held for the notes, covers it;
- the company's permission sets (``GET /v1/permissionSets``, for the settings) take
  ``admin`` only; the user's own sets come with ``GET /v1/users/{id}`` (``users:read``);
- timeline entries as activities (``POST /api/v2/activities``) need ``activities:full``,
  which no other scope dealbooks holds covers (``activities:read`` cannot write them);
- ``users:read`` is the only scope for ``GET /v1/users/{id}``: the token is the installer's,
  so the user who opens the app is described by id (``users/me`` describes the installer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

PIPEDRIVE_SCOPES: Final[Mapping[str, str]] = {
    "base": "GET /v1/users/me: the company, its domain and who installed the app",
    "deals:full": (
        "GET /api/v2/deals/{id}, its products and discounts, GET /api/v2/dealFields; "
        "GET /v1/deals/{id}/permittedUsers: who may see the deal's invoices; "
        "POST /v1/notes and GET /v1/notes: the invoice's note on the deal; "
        "PATCH /api/v2/deals/{id}: the deal fields' values; "
        "GET /api/v2/pipelines and /stages: the names the invoicing rules are chosen by"
    ),
    "contacts:read": (
        "GET /api/v2/organizations/{id} and /persons/{id} (the customer's name, address, "
        "email), GET /api/v2/organizationFields and /personFields (the field mapping)"
    ),
    "users:read": (
        "GET /v1/users/{id}: whether the user who opens the app is an admin (settings), "
        "their name (history) and language"
    ),
    "admin": (
        "GET, POST and DELETE /v1/webhooks: the app's own webhooks for deleted deals, "
        "organizations and persons; POST /api/v2/dealFields: the app's deal fields; "
        "GET /v1/permissionSets: the permission sets the settings can name"
    ),
    "activities:full": (
        "POST /api/v2/activities and GET /api/v2/activities: a deal's timeline entries as "
        "done activities, when the settings choose activities over notes"
    ),
}


def missing_scopes(granted: Iterable[str]) -> list[str]:
    """The scopes dealbooks needs that ``granted`` lacks, in the table's order."""
    have = set(granted)
    return [scope for scope in PIPEDRIVE_SCOPES if scope not in have]
