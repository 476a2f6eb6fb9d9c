"""Ports: what the application needs from the world, as ``typing.Protocol`` types."""
