"""Driving adapters (gRPC, HTTP, CLI, workers) and the composition root."""
