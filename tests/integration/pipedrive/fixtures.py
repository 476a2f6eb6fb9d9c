"""Verbatim payloads from Appendix A of ``shared/reference/pipedrive.md`` (Pipedrive's own
OpenAPI examples and guide). The JSON text is copied unchanged; ``load`` parses it with exact
decimals, as the adapter does."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def load(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


# A1 — GET /api/v2/deals/{id} 200 (OpenAPI v2 example, operation getDeal).
DEAL_V2 = r"""{
  "success": true,
  "data": {
    "id": 1,
    "title": "Deal Title",
    "creator_user_id": 1,
    "owner_id": 1,
    "value": 200,
    "person_id": 1,
    "org_id": 1,
    "stage_id": 1,
    "pipeline_id": 1,
    "currency": "USD",
    "archive_time": "2021-01-01T00:00:00Z",
    "add_time": "2021-01-01T00:00:00Z",
    "update_time": "2021-01-01T00:00:00Z",
    "stage_change_time": "2021-01-01T00:00:00Z",
    "status": "open",
    "is_archived": false,
    "is_deleted": false,
    "probability": 90,
    "lost_reason": "Lost Reason",
    "visible_to": 7,
    "close_time": "2021-01-01T00:00:00Z",
    "won_time": "2021-01-01T00:00:00Z",
    "lost_time": "2021-01-01T00:00:00Z",
    "local_won_date": "2021-01-01",
    "local_lost_date": "2021-01-01",
    "local_close_date": "2021-01-01",
    "expected_close_date": "2021-01-01",
    "label_ids": [
      1,
      2,
      3
    ],
    "origin": "ManuallyCreated",
    "origin_id": null,
    "channel": 52,
    "channel_id": "Jun23 Billboards",
    "source_lead_id": "35b0d604-eb0d-42d0-be11-eac8832051f0",
    "acv": 120,
    "arr": 120,
    "mrr": 10,
    "custom_fields": {}
  }
}"""

# A3-v2 — GET /api/v2/deals/{id}/products 200 (OpenAPI v2, getDealProducts).
DEAL_PRODUCTS_V2 = r"""{
  "success": true,
  "data": [
    {
      "id": 3,
      "sum": 90,
      "tax": 0,
      "deal_id": 1,
      "name": "Mechanical Pencil",
      "product_id": 1,
      "product_variation_id": null,
      "order_nr": 50,
      "add_time": "2019-12-19T11:36:49Z",
      "update_time": "2019-12-19T11:36:49Z",
      "comments": "",
      "currency": "USD",
      "discount": 0,
      "quantity": 1,
      "item_price": 90,
      "tax_method": "inclusive",
      "discount_type": "percentage",
      "is_enabled": true,
      "billing_frequency": "one-time",
      "billing_frequency_cycles": null,
      "billing_start_date": "2019-12-19"
    }
  ],
  "additional_data": {
    "next_cursor": "eyJmaWVsZCI6ImlkIiwiZmllbGRWYWx1ZSI6Nywic29ydERpcmVjdGlvbiI6ImFzYyIsImlkIjo3fQ"
  }
}"""

# A3-discounts — GET /api/v2/deals/{id}/discounts 200 (OpenAPI v2, getAdditionalDiscounts).
DEAL_DISCOUNTS_V2 = r"""{
  "success": true,
  "data": [
    {
      "id": "30195b0e-7577-4f52-a5cf-f3ee39b9d1e0",
      "description": "10%",
      "amount": 10,
      "type": "percentage",
      "deal_id": 1,
      "created_at": "2024-03-12T10:30:05Z",
      "created_by": 1,
      "updated_at": "2024-03-12T10:30:05Z",
      "updated_by": 1
    }
  ]
}"""

# A4-v2 — GET /api/v2/organizations/{id} 200 (OpenAPI v2, getOrganization).
ORGANIZATION_V2 = r"""{
  "success": true,
  "data": {
    "id": 1,
    "name": "Organization Name",
    "owner_id": 1,
    "org_id": 1,
    "add_time": "2021-01-01T00:00:00Z",
    "update_time": "2021-01-01T00:00:00Z",
    "address": {
      "value": "123 Main St",
      "country": "USA",
      "admin_area_level_1": "CA",
      "admin_area_level_2": "Santa Clara",
      "locality": "Sunnyvale",
      "sublocality": "Downtown",
      "route": "Main St",
      "street_number": "123",
      "subpremise": "123A",
      "postal_code": "94085"
    },
    "is_deleted": false,
    "visible_to": 7,
    "label_ids": [
      1,
      2,
      3
    ],
    "website": "https://www.company.com",
    "linkedin": "https://linkedin.com/company",
    "industry": 2,
    "annual_revenue": 0,
    "employee_count": 10,
    "custom_fields": {}
  }
}"""

# A5-v2 — GET /api/v2/persons/{id} 200 (OpenAPI v2, getPerson).
PERSON_V2 = r"""{
  "success": true,
  "data": {
    "id": 1,
    "name": "Person Name",
    "first_name": "Person",
    "last_name": "Name",
    "owner_id": 1,
    "org_id": 1,
    "add_time": "2021-01-01T00:00:00Z",
    "update_time": "2021-01-01T00:00:00Z",
    "emails": [
      {
        "value": "email1@email.com",
        "primary": true,
        "label": "work"
      },
      {
        "value": "email2@email.com",
        "primary": false,
        "label": "home"
      }
    ],
    "phones": [
      {
        "value": "12345",
        "primary": true,
        "label": "work"
      },
      {
        "value": "54321",
        "primary": false,
        "label": "home"
      }
    ],
    "is_deleted": false,
    "visible_to": 7,
    "label_ids": [
      1,
      2,
      3
    ],
    "picture_id": 1,
    "custom_fields": {},
    "notes": "Notes from contact sync",
    "im": [
      {
        "value": "skypeusername",
        "primary": true,
        "label": "skype"
      },
      {
        "value": "whatsappusername",
        "primary": false,
        "label": "whatsapp"
      }
    ],
    "birthday": "2000-12-31",
    "job_title": "Manager",
    "postal_address": {
      "value": "123 Main St",
      "country": "USA",
      "admin_area_level_1": "CA",
      "admin_area_level_2": "Santa Clara",
      "locality": "Sunnyvale",
      "sublocality": "Downtown",
      "route": "Main St",
      "street_number": "123",
      "subpremise": "Apt 1",
      "postal_code": "94085"
    }
  }
}"""

# A6 — webhook v2 'Update deal' (official webhooks v2 migration guide); its data carries a
# custom address field.
WEBHOOK_DEAL_CHANGE_V2 = r"""{
    "data": {
        "add_time": "2022-11-24T13:18:55Z",
        "channel": null,
        "channel_id": null,
        "close_time": null,
        "creator_user_id": 12415231,
        "currency": "EUR",
        "custom_fields": {
            "3d0fa3429dfa2d3dec265b4fc5dc8258ab66cdf3": {
                "country": "Estonia",
                "formatted_address": "Tallinn, Estonia",
                "locality": "Tallinn",
                "sublocality": "",
                "type": "address",
                "subpremise": "",
                "route": "",
                "street_number": "",
                "admin_area_level_1": "Harju County",
                "admin_area_level_2": "",
                "postal_code": "",
                "value": "Tallinn, Estonia"
            }
        },
        "expected_close_date": null,
        "first_won_time": null,
        "id": 8,
        "label_ids": [
            24,
            25
        ],
        "lost_reason": null,
        "lost_time": null,
        "org_id": 1,
        "origin": "ManuallyCreated",
        "origin_id": null,
        "owner_id": 12415231,
        "person_id": 8,
        "pipeline_id": 1,
        "probability": null,
        "stage_change_time": null,
        "stage_id": 2,
        "status": "open",
        "title": "Sample Org deal",
        "update_time": "2022-11-24T15:11:55Z",
        "value": 100,
        "visible_to": "3",
        "won_time": null
    },
    "previous": {
        "custom_fields": {
            "3d0fa3429dfa2d3dec265b4fc5dc8258ab66cdf3": null
        }
    },
    "meta": {
        "action": "change",
        "company_id": "8087566",
        "correlation_id": "121e5331-7ec6-4af8-9994-0e52fb489044",
        "entity_id": "8",
        "entity": "deal",
        "id": "df47d877-b58c-4886-91cd-1aa83e1d7366",
        "is_bulk_edit": false,
        "timestamp": "2022-11-24T15:11:55.724Z",
        "type": "general",
        "user_id": "12415231",
        "version": "2.0",
        "webhook_id": "4710827",
        "webhook_owner_id": "12094821",
        "change_source": "app",
        "attempt": 1,
        "host": "pd-us.pipedrive.com"
    }
}"""

# A7 — POST /v1/notes 200 (OpenAPI v1, addNote).
NOTE_CREATED_V1 = r"""{
  "success": true,
  "data": {
    "id": 1,
    "active_flag": true,
    "add_time": "2019-12-09 13:59:21",
    "content": "abc",
    "deal": {
      "title": "Deal title"
    },
    "lead_id": "adf21080-0e10-11eb-879b-05d71fb426ec",
    "deal_id": 1,
    "last_update_user_id": 1,
    "org_id": 1,
    "organization": {
      "name": "Organization name"
    },
    "person": {
      "name": "Person name"
    },
    "person_id": 1,
    "project_id": 1,
    "project": {
      "title": "Project name"
    },
    "pinned_to_lead_flag": false,
    "pinned_to_deal_flag": true,
    "pinned_to_organization_flag": false,
    "pinned_to_person_flag": false,
    "pinned_to_project_flag": false,
    "update_time": "2019-12-09 14:26:11",
    "user": {
      "email": "user@email.com",
      "icon_url": "https://iconurl.net/profile_120x120_123.jpg",
      "is_you": true,
      "name": "User Name"
    },
    "user_id": 1
  }
}"""

# A9 — GET /api/v2/dealFields 200 (OpenAPI v2, getDealFields).
DEAL_FIELDS_V2 = r"""{
  "success": true,
  "data": [
    {
      "field_name": "Deal Title",
      "field_code": "title",
      "description": "The title or name of the deal",
      "field_type": "varchar",
      "options": null,
      "subfields": null,
      "is_custom_field": false,
      "is_optional_response_field": false,
      "ui_visibility": {
        "add_visible_flag": true,
        "details_visible_flag": true,
        "projects_detail_visible_flag": true,
        "show_in_pipelines": {
          "show_in_all": true,
          "pipeline_ids": []
        }
      },
      "important_fields": {
        "enabled": false,
        "stage_ids": []
      },
      "required_fields": {
        "enabled": false,
        "stage_ids": [],
        "statuses": {}
      }
    },
    {
      "field_name": "Value",
      "field_code": "value",
      "description": "The monetary value of the deal",
      "field_type": "monetary",
      "options": null,
      "subfields": [
        {
          "field_code": "value",
          "field_name": "Amount of Value",
          "field_type": "double"
        },
        {
          "field_code": "currency",
          "field_name": "Currency of Value",
          "field_type": "varchar"
        }
      ],
      "is_custom_field": false,
      "is_optional_response_field": false,
      "ui_visibility": {
        "add_visible_flag": true,
        "details_visible_flag": true,
        "projects_detail_visible_flag": true,
        "show_in_pipelines": {
          "show_in_all": true,
          "pipeline_ids": []
        }
      },
      "important_fields": {
        "enabled": true,
        "stage_ids": [
          1,
          2,
          3
        ]
      },
      "required_fields": {
        "enabled": false,
        "stage_ids": [],
        "statuses": {}
      }
    },
    {
      "field_name": "Priority",
      "field_code": "40characterhashforcustomfieldidentifier",
      "description": "Priority level for the deal",
      "field_type": "enum",
      "options": [
        {
          "id": 1,
          "label": "Low",
          "color": "green"
        },
        {
          "id": 2,
          "label": "Medium",
          "color": "yellow"
        },
        {
          "id": 3,
          "label": "High",
          "color": "red"
        }
      ],
      "subfields": null,
      "is_custom_field": true,
      "is_optional_response_field": false,
      "ui_visibility": {
        "add_visible_flag": true,
        "details_visible_flag": true,
        "projects_detail_visible_flag": false,
        "show_in_pipelines": {
          "show_in_all": false,
          "pipeline_ids": [
            1,
            2
          ]
        }
      },
      "important_fields": {
        "enabled": true,
        "stage_ids": [
          5,
          6
        ]
      },
      "required_fields": {
        "enabled": true,
        "stage_ids": [
          5,
          6
        ],
        "statuses": {
          "1": [
            "won",
            "lost"
          ],
          "2": [
            "won"
          ]
        }
      }
    }
  ],
  "additional_data": {
    "next_cursor": "eyJmaWVsZCI6ImlkIiwiZmllbGRWYWx1ZSI6Nywic29ydERpcmVjdGlvbiI6ImFzYyIsImlkIjo3fQ"
  }
}"""
