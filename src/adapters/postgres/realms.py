"""Which QuickBooks company (realm) a row belongs to (migration 0030), as SQL shared by the
statements that read or write such rows. QuickBooks ids are per company: after a company
switches QuickBooks companies, the rows of the former one (invoices, customer links) are kept
but no longer taken for the connected one's.

[U] QuickBooks never gives two invoices (or customers) of one company the same id: Intuit
documents ids as unique within a company and says nothing of reuse. A sandbox reset (the
same realm, its ids restarted) is the one known exception; such a collision is not handled."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, select

from adapters.postgres.tables import ConnectionRow

_CONNECTIONS: Table = ConnectionRow.__table__  # type: ignore[attr-defined]


def connected_realm(table: str, company: str = "") -> str:
    """SQL: the key (``connections.external_key``) of the QuickBooks company that the company
    of ``table``'s row is connected to; NULL: none. ``company``: that company as SQL when the
    statement has it as a parameter (then Postgres looks it up once, not once a row)."""
    return (
        "(SELECT c.external_key FROM connections c "  # noqa: S608 (names and SQL of ours)
        f"WHERE c.company_id = {company or f'{table}.company_id'} "
        "AND c.vendor = 'quickbooks' AND c.user_id = '')"
    )


def other_company(table: str, company: str = "") -> str:
    """SQL: ``table``'s row is of a QuickBooks company other than the connected one. A row of
    no known company ('': not in QuickBooks yet, or older than 0030 with no connection then)
    is not, nor is any row while no QuickBooks company is connected."""
    return (
        f"({table}.realm_key <> '' AND {table}.realm_key <> "
        f"COALESCE({connected_realm(table, company)}, {table}.realm_key))"
    )


def connected_realm_of(company_id: ColumnElement[str]) -> ColumnElement[str]:
    """:func:`connected_realm` for a company given as a value (a row being inserted)."""
    return (
        select(_CONNECTIONS.c.external_key)
        .where(
            _CONNECTIONS.c.company_id == company_id,
            _CONNECTIONS.c.vendor == "quickbooks",
            _CONNECTIONS.c.user_id == "",
        )
        .scalar_subquery()
    )
