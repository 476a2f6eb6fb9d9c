"""Driven adapters: each package implements application ports for one technology."""
