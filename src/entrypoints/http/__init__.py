"""The aiohttp gateway: health, metrics, and later OAuth, webhooks and the Pipedrive UI."""
