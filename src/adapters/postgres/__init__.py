"""Postgres adapter: SQLModel rows, mappers, repositories and the unit of work over asyncpg."""
