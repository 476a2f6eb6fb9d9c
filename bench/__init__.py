"""Benchmarks: `make bench` runs every one against the real service and writes results.json."""
