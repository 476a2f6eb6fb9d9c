"""A wire-faithful QuickBooks Online emulator (OAuth 2.0, Accounting API v3, webhooks, CDC)."""
