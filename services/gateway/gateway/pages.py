"""What the consoles' pages need besides templates: turning a form into an
application, and where each role lands after signing in."""

from __future__ import annotations

import io
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import segno
from markupsafe import Markup

from gateway import i18n
from gateway import schemas as limit
from gateway.exceptions import BadRequest
from gateway.roles import ADMIN, COMMUNICATOR, COORDINATOR, FINANCE

APPLY_FIELDS = (
    ("pseudonym", "text"),
    ("legal_name", "text"),
    ("email", "email"),
    ("password", "password"),
    ("country", "country"),
    ("city", "text"),
    ("languages", "languages"),
    ("motivation", "textarea"),
    ("referral", "text"),
)

ENROLLMENT_URI = 300  # otpauth://totp/Svyaz:<8>?secret=<32>&issuer=Svyaz, with room

# The longest value, in characters, of each console form field (the same vocabulary
# as the API's schemas); web.form refuses a longer one before anything travels. A
# field not named here gets limit.WORD.
FORM_LIMITS: dict[str, int] = {
    "csrf": limit.TOKEN,
    "token": limit.TOKEN,
    "code": limit.CODE,
    "pseudonym": limit.PSEUDONYM,
    # the application's, as the API takes them
    "referral": limit.PSEUDONYM,
    "legal_name": limit.LEGAL_NAME,
    "email": limit.EMAIL,
    "password": limit.PASSWORD,
    "city": limit.CITY,
    "languages": limit.NAME,
    "motivation": limit.MOTIVATION,
    "holder": limit.NAME,
    "name": limit.NAME,
    "title": limit.NAME,
    "reason": limit.REASON,
    "note": limit.REASON,
    "comment": limit.REASON,
    "narrative": limit.NARRATIVE,
    "expected_change": limit.EXPECTED_CHANGE,
    "strategy_note": limit.REASON,
    "feedback": limit.REASON,
    "topics": limit.TOPICS * (limit.TOPIC + 2),
    "content": limit.CONTENT,
    "enrollment": ENROLLMENT_URI,  # the key the enrolment page draws again
    **dict.fromkeys(
        (
            "cycle",
            "cycle_id",
            "report_id",
            "run_id",
            "payout_id",
            "training_id",
            "coordinator",
            "digest",
            "totals_digest",
            "item",
        ),
        limit.ID,
    ),
}
FORM_VALUES = limit.BATCH  # values under one name (the queue's ticked items)

PROVIDERS = limit.PROVIDERS
REPORT_CHOICES = {  # the report form's choices: the API's vocabularies
    "audiences": limit.AUDIENCES,
    "channels": limit.REPORT_CHANNELS,
    "changes": limit.OBSERVED_CHANGES,
    "progress": limit.PROGRESS,
}
STRATEGY_CHOICES = {  # the strategy form's choices, the same vocabularies
    "audiences": limit.AUDIENCES,
    "channels": limit.REPORT_CHANNELS,
    "approaches": limit.APPROACHES,
}


def _number(value: str | None) -> int | str:
    """An integer where the form holds one; the text otherwise, for stipends to
    refuse with its own field message."""
    value = (value or "").strip()
    return int(value) if value.isdigit() else value


def text(form: Any, name: str) -> str:
    """A text field, stripped, a line break one character (a browser sends a
    textarea's as CR LF, and counts it as one against its maxlength)."""
    return (form.get(name) or "").replace("\r\n", "\n").strip()


def report_from_form(form: Any) -> dict[str, Any]:
    """The report form (checkbox groups give several values) as the API's body."""
    return {
        "conversations": _number(form.get("conversations")),
        "audiences": form.getlist("audiences"),
        "channels": form.getlist("channels"),
        "topics": [
            t.strip() for t in (form.get("topics") or "").split(",") if t.strip()
        ],
        "hours": _number(form.get("hours")),
        "observed_change": text(form, "observed_change"),
        # the marks of what was removed, shown in the reader's language, go back as
        # stored
        "narrative": i18n.stored_markers(text(form, "narrative")),
        "strategy_progress": form.get("strategy_progress") or None,
        "strategy_note": i18n.stored_markers(text(form, "strategy_note")),
    }


def report_values(
    report: dict[str, Any] | None, language: str = "en"
) -> dict[str, Any]:
    """What the form shows: a saved report's content (the marks of what was
    removed from its texts in `language`), or an empty form."""
    report = report or {}
    return {
        "conversations": report.get("conversations", ""),
        "audiences": report.get("audiences", []),
        "channels": report.get("channels", []),
        "topics": ", ".join(report.get("topics", [])),
        "hours": report.get("hours", ""),
        "observed_change": report.get("observed_change", ""),
        "narrative": i18n.redactions(language, report.get("narrative", "")),
        "strategy_progress": report.get("strategy_progress") or "",
        "strategy_note": i18n.redactions(language, report.get("strategy_note") or ""),
    }


def _topics(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def strategy_from_form(form: Any) -> dict[str, Any]:
    """The strategy form (checkbox groups give several values) as the API's body."""
    return {
        "audiences": form.getlist("audiences"),
        "channels": form.getlist("channels"),
        "topics": _topics(form.get("topics")),
        "approaches": form.getlist("approaches"),
        "expected_change": text(form, "expected_change"),
        "horizon_months": _number(form.get("horizon_months")),
        "note": text(form, "note"),
    }


def strategy_values(version: dict[str, Any] | None) -> dict[str, Any]:
    """What the strategy form shows: a version's content (the draft, or the latest
    to revise), or an empty form."""
    version = version or {}
    return {
        "audiences": version.get("audiences", []),
        "channels": version.get("channels", []),
        "topics": ", ".join(version.get("topics", [])),
        "approaches": version.get("approaches", []),
        "expected_change": version.get("expected_change", ""),
        "horizon_months": version.get("horizon_months", ""),
        "note": version.get("note", ""),
    }


def spoken(chosen: list[str]) -> list[str]:
    """The languages ticked in the form's select (or typed, comma-separated, by a
    client without the select), lower case, each once, in order."""
    found: list[str] = []
    for value in chosen:
        for part in value.replace(";", ",").split(","):
            code = part.strip().lower()
            if code and code not in found:
                found.append(code)
    return found


def application_from_form(
    values: dict[str, str], languages: list[str] | None = None
) -> dict[str, Any]:
    """The application form as the registry takes it; `languages`: every value of
    the languages select (a multiple select sends one value per language)."""
    application: dict[str, Any] = {
        name: values.get(name, "") for name, _ in APPLY_FIELDS
    }
    chosen = languages if languages is not None else [values.get("languages", "")]
    application["languages"] = spoken(chosen) or ["ru"]
    application["referral"] = values.get("referral") or None
    application["consent"] = values.get("consent") == "yes"
    application["consent_version"] = values.get("consent_version", "")
    application["country"] = values.get("country", "").upper()
    return application


def landing(roles: list[str]) -> str:
    """The first page after sign-in: the one that shows what waits for this
    person (gateway.waiting), by their first role of admin, finance, communicator,
    coordinator."""
    if ADMIN in roles:
        return "/admin/applications"
    if FINANCE in roles:
        return "/finance"
    if COORDINATOR in roles and COMMUNICATOR not in roles:
        return "/coordinator"
    return "/me"


def totp_secret(uri: str) -> str:
    return parse_qs(urlparse(uri).query).get("secret", [""])[0]


def is_enrollment_uri(uri: str) -> bool:
    """An authenticator's key as the registry gives it (otpauth://totp/...?secret=)
    and nothing else, short: what the enrolment page may draw again."""
    parsed = urlparse(uri)
    return (
        len(uri) <= ENROLLMENT_URI
        and parsed.scheme == "otpauth"
        and parsed.netloc == "totp"
        and totp_secret(uri).isalnum()
    )


# The QR code's drawing: 4 px a module with the 4-module quiet zone the standard asks
# for, error correction M (segno raises it when the size allows).
QR_SCALE = 4
QR_BORDER = 4


def qr_code(uri: str) -> segno.QRCode:
    return segno.make(uri, error="m", micro=False)


def qr_svg(uri: str) -> Markup:
    """The enrollment URI as a QR code, drawn here as an inline <svg> element (no
    JavaScript, no image request: the page's CSP allows neither a data: URL nor a
    third party). The page names it for screen readers (its <figure>)."""
    out = io.BytesIO()
    qr_code(uri).save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=QR_SCALE,
        border=QR_BORDER,
        svgid="totp-qr",
        svgclass="qr",
        lineclass=None,
        dark="#000",
        light="#fff",
    )
    return Markup(out.getvalue().decode())  # noqa: S704 - segno's own markup


def preferences_from_form(form: Any, roles: list[str]) -> dict[str, Any]:
    """The preferences form as the notifications service takes it. Only staff send
    `discreet`: communicators cannot turn it off, so their form has no such box."""
    changes: dict[str, Any] = {
        "language": form.get("language") or None,
        "channels": form.getlist("channels") or ["email"],
        "timezone": (form.get("timezone") or "").strip() or None,
        "quiet_start": form.get("quiet_start") or None,
        "quiet_end": form.get("quiet_end") or None,
    }
    if set(roles) - {"communicator"}:
        changes["discreet"] = form.get("discreet") == "yes"
    return changes


def ident(value: str, name: str = "id") -> str:
    """An id from a form or a path, checked before it goes into a redirect."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise BadRequest(f"{name} is not a valid id", "invalid_id") from None
