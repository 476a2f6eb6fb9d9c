"""QuickBooks Online: the async Accounting API v3 client, OAuth 2.0 and the accounting gateway."""
