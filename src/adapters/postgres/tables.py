"""SQLModel table classes. They are rows, not entities: ``mappers`` converts them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class CompanySettingsRow(SQLModel, table=True):
    __tablename__ = "company_settings"

    company_id: str = Field(primary_key=True, max_length=64)
    field_mapping: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    due_date_policy: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    copy_customer_details: bool = Field(default=False)
    default_currency: str | None = Field(default=None, max_length=3)
    default_tax_code: str | None = Field(default=None, max_length=64)
    default_terms: str | None = Field(default=None, max_length=64)
    default_item: str | None = Field(default=None, max_length=64)
    version: int = Field(default=1)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
