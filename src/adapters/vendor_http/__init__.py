"""The one HTTP layer both vendor clients use: limiter slot, retries (tenacity), token refresh."""
