"""The HTTP layer: transport (sessions, retries, timeouts) and typed endpoints."""
