"""The JSON API (/api/v1), a module per group of people it serves. Each module is a
mixin of gateway.base.GatewayBase; every route is declared once with gateway.http.api.

A session is the same HttpOnly cookie as the consoles'; every POST, PUT and DELETE
also carries the session's CSRF token in the X-CSRF-Token header."""
