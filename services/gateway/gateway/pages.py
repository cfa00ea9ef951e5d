"""What the consoles' pages need besides templates: turning a form into an
application, and where each role lands after signing in."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

APPLY_FIELDS = (
    ("pseudonym", "text"),
    ("legal_name", "text"),
    ("email", "email"),
    ("password", "password"),
    ("country", "text"),
    ("city", "text"),
    ("languages", "text"),
    ("motivation", "textarea"),
    ("referral", "text"),
)


PROVIDERS = ("stripe_connect", "stripe_global", "bank_file")


def application_from_form(values: dict[str, str]) -> dict[str, Any]:
    application: dict[str, Any] = {
        name: values.get(name, "") for name, _ in APPLY_FIELDS
    }
    application["languages"] = [
        part.strip().lower()
        for part in values.get("languages", "").replace(";", ",").split(",")
        if part.strip()
    ] or ["ru"]
    application["referral"] = values.get("referral") or None
    application["consent"] = values.get("consent") == "yes"
    application["consent_version"] = values.get("consent_version", "")
    application["country"] = values.get("country", "").upper()
    return application


def landing(roles: list[str]) -> str:
    if "program_admin" in roles:
        return "/admin/applications"
    if "finance" in roles:
        return "/finance"
    return "/me"


def totp_secret(uri: str) -> str:
    return parse_qs(urlparse(uri).query).get("secret", [""])[0]
