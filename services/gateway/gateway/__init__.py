"""The gateway: HTTP, the JSON API and the web consoles; it owns no business data."""
