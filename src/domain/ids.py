"""Identifiers of the domain: distinct types over ``str`` so they are not mixed up."""

from __future__ import annotations

from typing import NewType

InvoiceId = NewType("InvoiceId", str)
"""Our own invoice id (a UUID string); also seeds the QuickBooks ``requestid``."""

CompanyId = NewType("CompanyId", str)
"""The tenant: a Pipedrive company id."""

DealId = NewType("DealId", str)
"""A Pipedrive deal id."""
