"""API keys (hashed, scoped) and the encrypted secret vault."""
