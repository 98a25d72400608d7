"""Control plane: REST + WebSocket API, dashboard, auth and abuse controls (issue #6)."""
