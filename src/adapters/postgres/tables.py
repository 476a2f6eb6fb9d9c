"""SQLModel table classes. They are rows, not entities: ``mappers`` converts them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index
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


class ConnectionRow(SQLModel, table=True):
    """A company's connection to one vendor; the tokens are sealed (see ``crypto``)."""

    __tablename__ = "connections"
    __table_args__ = (Index("ix_connections_vendor_external_id", "vendor", "external_id"),)

    company_id: str = Field(primary_key=True, max_length=64)
    vendor: str = Field(primary_key=True, max_length=16)
    external_id: str = Field(max_length=64)
    sealed_tokens: str
    access_expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    refresh_expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    status: str = Field(max_length=32)
    display_name: str = Field(default="", max_length=255)
    environment: str = Field(default="", max_length=32)
    api_domain: str = Field(default="", max_length=255)
    connected_by: str = Field(default="", max_length=64)
    connected_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    failure_reason: str = Field(default="", max_length=500)
    version: int = Field(default=1)


class OAuthStateRow(SQLModel, table=True):
    __tablename__ = "oauth_states"

    nonce: str = Field(primary_key=True, max_length=64)
    company_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    vendor: str = Field(max_length=16)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    return_to: str = Field(default="", max_length=500)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
