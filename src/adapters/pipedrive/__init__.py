"""The Pipedrive adapter: OAuth tokens, a paced and retrying HTTP client, and the CRM gateway."""
