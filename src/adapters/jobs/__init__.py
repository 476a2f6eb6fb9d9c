"""Durable jobs on procrastinate, over the same Postgres."""
