"""The web consoles (HTML, no JavaScript, Russian and English), a module per group of
people they serve. Each module is a mixin of gateway.base.GatewayBase; every route is
declared once with gateway.http.page."""
