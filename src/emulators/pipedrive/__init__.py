"""A wire-faithful emulator of the Pipedrive API, OAuth server and webhooks (see DESIGN.md §6)."""
