"""Seeding: the demo company, and arbitrary seeds posted to `POST /_emulator/seed`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .access import add_follower
from .clock import v1_time
from .model import (
    VISIBLE_TO,
    ValidationError,
    add_custom_field,
    add_deal_product,
    add_default_pipeline,
    add_discount,
    add_pipeline,
    json_number,
    new_company,
    new_deal,
    new_organization,
    new_person,
    new_user,
)
from .store import Company, Store

_USER_KEYS = {
    "name",
    "email",
    "is_admin",
    "locale",
    "timezone_name",
    "timezone_offset",
    "default_currency",
    "api_token",
    "visibility_group",
}


def seed(store: Store, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Create what `payload` describes; return every new id (see the admin API docs).

    Payload keys (all optional):
      company: {name, domain, country, industry, default_currency} - a new company; or
      company_id: add to an existing company (default: the first company, else a new one).
      users: [{name, email, is_admin, locale, timezone_name, timezone_offset, api_token,
               visibility_group}]
      pipelines: [{name, stages: [stage names in board order]}] - added to the company; a
               company left without any gets Pipedrive's default "Sales pipeline" (Qualified,
               Contact made, Demo scheduled, Proposal made, Negotiations started)
      fields: {deal|organization|person: [{name, field_type, options?, key?}]}
      organizations: [{name, address (str | object), custom_fields {key or name: value},
                       owner_id?, website?}]
      persons: [{name, emails, phones, org_id? | org_index?, custom_fields, owner_id?}]
      deals: [{title, value?, currency, status?, org_id? | org_index?,
               person_id? | person_index?, expected_close_date?, custom_fields,
               stage_id? | stage? (a stage name, first match across the company's pipelines),
               owner_id?, visible_to?, followers? [user ids], products: [{name, item_price,
               quantity, discount, discount_type, tax, tax_method, comments, product_id}],
               discounts: [{description, amount, type}]}]
    `*_index` refers to the position in this payload's own list. When `value` is omitted on a
    deal it is the sum of its products' `sum`.
    """
    if not isinstance(payload, dict):
        raise ValidationError("seed payload must be an object")
    company = _company(store, payload)
    result: dict[str, Any] = {"company_id": company.id, "company_domain": company.domain}

    pipeline_ids = []
    for spec in payload.get("pipelines", []):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ValidationError("pipelines: each needs a name")
        stages = spec.get("stages") or []
        if not all(isinstance(name, str) and name for name in stages):
            raise ValidationError("pipelines: stages are a list of names")
        pipeline_ids.append(add_pipeline(store, company.id, now, spec["name"], stages).data["id"])
    if not store.company_pipelines(company.id):
        pipeline_ids.append(add_default_pipeline(store, company.id, now).data["id"])
    result["pipelines"] = pipeline_ids

    users = []
    for spec in payload.get("users", []):
        unknown = set(spec) - _USER_KEYS
        if unknown:
            raise ValidationError(f"users: unknown keys {sorted(unknown)}")
        user = new_user(store, company, now, **spec)
        users.append({"id": user.id, "name": user.name, "api_token": user.api_token})
    result["users"] = users
    company_users = store.users_of(company.id)
    if not company_users:
        admin = new_user(
            store, company, now, name="Admin", email=f"admin@{company.domain}.test", is_admin=True
        )
        company_users = [admin]
        result["users"].append({"id": admin.id, "name": admin.name, "api_token": admin.api_token})
    default_owner = next((u for u in company_users if u.is_admin), company_users[0]).id

    field_keys: dict[str, dict[str, str]] = {}
    for entity, specs in (payload.get("fields") or {}).items():
        for spec in specs:
            definition = add_custom_field(
                store,
                company.id,
                entity,
                spec["name"],
                spec["field_type"],
                options=spec.get("options"),
                key=spec.get("key"),
                description=spec.get("description"),
            )
            field_keys.setdefault(entity, {})[spec["name"]] = definition.key
    result["fields"] = field_keys

    org_ids: list[int] = []
    for spec in payload.get("organizations", []):
        org = new_organization(
            store,
            company.id,
            now,
            name=spec["name"],
            owner_id=spec.get("owner_id", default_owner),
            address=spec.get("address"),
            custom_fields=spec.get("custom_fields"),
            website=spec.get("website"),
        )
        org_ids.append(org.data["id"])
    result["organizations"] = org_ids

    person_ids: list[int] = []
    for spec in payload.get("persons", []):
        org_id = _ref(spec, "org", org_ids)
        person = new_person(
            store,
            company.id,
            now,
            name=spec["name"],
            owner_id=spec.get("owner_id", default_owner),
            org_id=org_id,
            emails=spec.get("emails"),
            phones=spec.get("phones"),
            custom_fields=spec.get("custom_fields"),
        )
        person_ids.append(person.data["id"])
    result["persons"] = person_ids

    deal_ids: list[int] = []
    products: dict[str, list[int]] = {}
    discounts: dict[str, list[str]] = {}
    for spec in payload.get("deals", []):
        owner = spec.get("owner_id", default_owner)
        deal = new_deal(
            store,
            company.id,
            now,
            title=spec["title"],
            owner_id=owner,
            value=spec.get("value", 0),
            currency=spec.get("currency", company.default_currency),
            org_id=_ref(spec, "org", org_ids),
            person_id=_ref(spec, "person", person_ids),
            status=spec.get("status", "open"),
            expected_close_date=spec.get("expected_close_date"),
            custom_fields=spec.get("custom_fields"),
            probability=spec.get("probability"),
            stage_id=_stage(store, company.id, spec),
        )
        line_ids = []
        for item in spec.get("products", []):
            line = add_deal_product(store, deal, now, **item)
            line_ids.append(line.data["id"])
        if "value" not in spec and line_ids:
            total = sum(store.deal_products[i].data["sum"] for i in line_ids)
            deal.data["value"] = json_number(round(total, 2))
        discount_ids = [
            add_discount(store, deal, now, user_id=owner, **item).data["id"]
            for item in spec.get("discounts", [])
        ]
        if "visible_to" in spec:
            if spec["visible_to"] not in VISIBLE_TO or isinstance(spec["visible_to"], bool):
                raise ValidationError("visible_to must be 1, 3, 5 or 7")
            deal.data["visible_to"] = spec["visible_to"]
        for follower in spec.get("followers", []):
            user = store.users.get(follower)
            if user is None or user.company_id != company.id:
                raise ValidationError(f"followers: no user {follower!r} in the company")
            add_follower(store, deal, user.id, v1_time(now))
        deal_ids.append(deal.data["id"])
        products[str(deal.data["id"])] = line_ids
        discounts[str(deal.data["id"])] = discount_ids
    result["deals"] = deal_ids
    result["deal_products"] = products
    result["deal_discounts"] = discounts
    return result


def _company(store: Store, payload: dict[str, Any]) -> Company:
    if "company_id" in payload:
        company = store.companies.get(payload["company_id"])
        if company is None:
            raise ValidationError(f"company {payload['company_id']} does not exist")
        return company
    if "company" in payload:
        spec = dict(payload["company"])
        return new_company(store, spec.pop("name"), spec.pop("domain", None), **spec)
    if store.companies:
        return next(iter(store.companies.values()))
    return new_company(store, "Emulated Company")


def _stage(store: Store, company_id: int, spec: dict[str, Any]) -> int | None:
    """A seeded deal's stage: `stage_id`, else the stage named `stage`, else the default."""
    if spec.get("stage_id") is not None:
        if store.get_stage(company_id, spec["stage_id"]) is None:
            raise ValidationError(f"stage_id {spec['stage_id']!r} is not a stage of the company")
        return int(spec["stage_id"])
    if spec.get("stage") is None:
        return None
    for pipeline in store.company_pipelines(company_id):
        for stage in store.pipeline_stages(pipeline.data["id"]):
            if stage.data["name"] == spec["stage"]:
                return int(stage.data["id"])
    raise ValidationError(f"stage {spec['stage']!r} is not a stage of the company")


def _ref(spec: dict[str, Any], name: str, created: list[int]) -> int | None:
    if spec.get(f"{name}_index") is not None:
        index = spec[f"{name}_index"]
        if not isinstance(index, int) or not 0 <= index < len(created):
            raise ValidationError(f"{name}_index {index!r} is out of range")
        return created[index]
    value = spec.get(f"{name}_id")
    return value if isinstance(value, int) else None


DEMO_SEED: dict[str, Any] = {
    "company": {
        "name": "Acme Demo GmbH",
        "domain": "acme-demo",
        "country": "DE",
        "industry": "IT Services",
        "default_currency": "EUR",
    },
    # Pipedrive's default board (ids 1-5: stage 4 is "Proposal made"), and a second one.
    "pipelines": [
        {
            "name": "Sales pipeline",
            "stages": [
                "Qualified",
                "Contact made",
                "Demo scheduled",
                "Proposal made",
                "Negotiations started",
            ],
        },
        {"name": "Partnerships", "stages": ["Intro call", "Terms agreed", "Contract signed"]},
    ],
    "users": [
        {
            "name": "Alice Admin",
            "email": "alice@acme-demo.test",
            "is_admin": True,
            "locale": "en_US",
            "timezone_name": "Europe/Berlin",
            "timezone_offset": "+01:00",
            "api_token": "0123456789abcdef0123456789abcdef01234567",
        },
        {
            "name": "Bruno Martin",
            "email": "bruno@acme-demo.test",
            "is_admin": False,
            "locale": "fr_FR",
            "timezone_name": "Europe/Paris",
            "timezone_offset": "+01:00",
        },
        {
            "name": "Carol Sales",
            "email": "carol@acme-demo.test",
            "is_admin": False,
            "locale": "en_US",
            "timezone_name": "America/New_York",
            "timezone_offset": "-05:00",
            "default_currency": "USD",
        },
        {
            "name": "Camille Laurent",
            "email": "camille@acme-demo.test",
            "is_admin": True,
            "locale": "fr_FR",
            "timezone_name": "Europe/Paris",
            "timezone_offset": "+01:00",
            "default_currency": "EUR",
        },
    ],
    "fields": {
        "organization": [
            {"name": "VAT number", "field_type": "varchar"},
            {"name": "Billing address", "field_type": "address"},
            {"name": "Customer tier", "field_type": "enum", "options": ["Gold", "Silver"]},
        ],
        "person": [
            {"name": "Preferred language", "field_type": "enum", "options": ["English", "French"]},
        ],
        "deal": [
            {"name": "Contract value", "field_type": "monetary"},
            {"name": "Delivery address", "field_type": "address"},
            {"name": "Invoice number", "field_type": "varchar"},
            {"name": "Payment terms", "field_type": "enum", "options": ["Net 15", "Net 30"]},
            {"name": "Services", "field_type": "set", "options": ["Consulting", "Support"]},
            {"name": "Invoice date", "field_type": "date"},
            {"name": "Hourly rate", "field_type": "double"},
        ],
    },
    "organizations": [
        {
            "name": "Globex Deutschland GmbH",
            "address": {
                "value": "Friedrichstraße 68, 10117 Berlin, Germany",
                "street_number": "68",
                "route": "Friedrichstraße",
                "locality": "Berlin",
                "sublocality": "Mitte",
                "admin_area_level_1": "Berlin",
                "country": "Germany",
                "postal_code": "10117",
                "formatted_address": "Friedrichstraße 68, 10117 Berlin, Germany",
            },
            "custom_fields": {"VAT number": "DE123456789"},
            "website": "https://globex.example",
        },
        {
            "name": "Société Lumière SARL",
            "address": {
                "value": "12 Rue de Rivoli, 75004 Paris, France",
                "street_number": "12",
                "route": "Rue de Rivoli",
                "locality": "Paris",
                "admin_area_level_1": "Île-de-France",
                "country": "France",
                "postal_code": "75004",
                "formatted_address": "12 Rue de Rivoli, 75004 Paris, France",
            },
            "custom_fields": {
                "VAT number": "FR40303265045",
                "Billing address": {
                    "value": "BP 42, 69002 Lyon, France",
                    "locality": "Lyon",
                    "country": "France",
                    "postal_code": "69002",
                },
            },
        },
        {
            "name": "Initech Inc.",
            "address": {
                "value": "4120 Freidrich Lane, Austin, TX 78744, USA",
                "street_number": "4120",
                "route": "Freidrich Lane",
                "subpremise": "Suite 200",
                "locality": "Austin",
                "admin_area_level_1": "TX",
                "admin_area_level_2": "Travis County",
                "country": "United States",
                "postal_code": "78744",
                "formatted_address": "4120 Freidrich Ln Suite 200, Austin, TX 78744, USA",
            },
            "custom_fields": {"VAT number": "US-EIN-12-3456789"},
        },
        {
            "name": "Tallinn Widgets OÜ",
            "address": "Mustamäe tee 3a, 10615 Tallinn",
        },
    ],
    "persons": [
        {
            "name": "Greta Weber",
            "org_index": 0,
            "emails": [
                {"value": "greta.weber@globex.example", "primary": True, "label": "work"},
                {"value": "greta@home.example", "primary": False, "label": "home"},
            ],
            "phones": [{"value": "+49 30 1234567", "primary": True, "label": "work"}],
        },
        {
            "name": "Étienne Dubois",
            "org_index": 1,
            "emails": [{"value": "e.dubois@lumiere.example", "label": "work"}],
            "custom_fields": {"Preferred language": None},
        },
        {
            "name": "Peter Gibbons",
            "org_index": 2,
            "emails": [
                {"value": "peter@home.example", "primary": False, "label": "home"},
                {"value": "peter.gibbons@initech.example", "primary": True, "label": "work"},
            ],
            "phones": [{"value": "+1 512 555 0100", "label": "mobile"}],
        },
        {"name": "Mari Tamm", "org_index": 3, "emails": []},
    ],
    "deals": [
        {
            "title": "Globex website relaunch",
            "stage": "Negotiations started",
            "currency": "EUR",
            "org_index": 0,
            "person_index": 0,
            "status": "won",
            "custom_fields": {
                "Contract value": {"value": 12000, "currency": "EUR"},
                "Payment terms": None,
            },
            "products": [
                {
                    "name": "Web design (days)",
                    "item_price": 800,
                    "quantity": 10,
                    "tax": 19,
                    "tax_method": "exclusive",
                },
                {
                    "name": "Hosting (year)",
                    "item_price": 240,
                    "quantity": 1,
                    "discount": 10,
                    "discount_type": "percentage",
                    "tax": 19,
                    "comments": "First year",
                },
            ],
            "discounts": [{"description": "Loyalty 5%", "amount": 5, "type": "percentage"}],
        },
        {
            "title": "Lumière support contract",
            "stage": "Contact made",
            "currency": "EUR",
            "org_index": 1,
            "person_index": 1,
            "custom_fields": {
                "Delivery address": {
                    "value": "12 Rue de Rivoli, 75004 Paris, France",
                    "locality": "Paris",
                    "country": "France",
                },
            },
            "products": [
                {
                    "name": "Support retainer",
                    "item_price": 1500,
                    "quantity": 3,
                    "tax": 20,
                    "tax_method": "inclusive",
                    "billing_frequency": "monthly",
                },
                {
                    "name": "Pencil",
                    "item_price": 22,
                    "quantity": 5,
                    "discount": 0.2,
                    "discount_type": "percentage",
                    "tax": 20,
                },
            ],
        },
        {
            "title": "Initech TPS automation",
            "stage": "Demo scheduled",
            "currency": "USD",
            "org_index": 2,
            "person_index": 2,
            "expected_close_date": "2026-12-15",
            "custom_fields": {"Hourly rate": 150.5, "Invoice date": "2026-10-01"},
            "products": [
                {"name": "Automation consulting", "item_price": 150.5, "quantity": 40},
                {
                    "name": "License",
                    "item_price": 2000,
                    "quantity": 2,
                    "discount": 250,
                    "discount_type": "amount",
                    "tax_method": "none",
                },
            ],
            "discounts": [{"description": "Launch rebate", "amount": 100, "type": "amount"}],
        },
        {
            "title": "Tallinn widgets pilot",
            "stage": "Qualified",
            "currency": "GBP",
            "org_index": 3,
            "products": [
                {"name": "Widget", "item_price": 9.99, "quantity": 100, "tax": 20},
            ],
        },
        {
            "title": "Globex hardware (no contact)",
            "stage": "Proposal made",
            "currency": "USD",
            "org_index": 0,
            "status": "lost",
            "products": [{"name": "Server rack", "item_price": 4999, "quantity": 1}],
        },
        {
            "title": "Empty opportunity",
            "currency": "EUR",
            "value": 0,
        },
    ],
}


def seed_demo(store: Store, now: datetime) -> dict[str, Any]:
    payload = dict(DEMO_SEED)
    result = seed(store, payload, now)
    # Option-valued custom fields need option ids, known only after the fields exist.
    company_id = result["company_id"]
    terms = store.find_field(company_id, "deal", "Payment terms")
    services = store.find_field(company_id, "deal", "Services")
    tier = store.find_field(company_id, "organization", "Customer tier")
    language = store.find_field(company_id, "person", "Preferred language")
    if not (terms and services and tier and language):
        raise ValidationError("demo seed fields are missing")
    first_deal = store.deals[result["deals"][0]]
    first_deal.data["custom_fields"][terms.key] = terms.data["options"][1]["id"]
    first_deal.data["custom_fields"][services.key] = [o["id"] for o in services.data["options"]]
    store.organizations[result["organizations"][0]].data["custom_fields"][tier.key] = tier.data[
        "options"
    ][0]["id"]
    store.persons[result["persons"][1]].data["custom_fields"][language.key] = language.data[
        "options"
    ][1]["id"]
    return result
