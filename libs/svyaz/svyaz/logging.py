"""JSON log lines and a filter that refuses personal data.

Every service logs through `logging.getLogger(__name__)` with `%s` arguments. The
`PersonalDataFilter` is installed on the root handler (see each service's config.yml
LOGGING section): a record whose rendered message holds something shaped like an email
address, a phone number, an IBAN or a card number is rewritten with the value replaced,
and marked `redacted`, so it can never reach a log file as written. Beside it,
`ExpectedErrorFilter` writes a refusal a service declared as an INFO line without
its traceback.

Every pattern runs in time linear in the text, whatever the text is: a match can only
start where a run of its characters starts (a look-behind), runs are taken possessively
(`++`: no backtracking into them), and every repeat that must backtrack is bounded. A
message is also cut to `MAX_MESSAGE` characters before it is searched, so a request that
puts 60 KB into a logged error costs what 4 KB costs. (The old patterns were quadratic:
a 60 KB word took 9 s in the email pattern and held the whole gateway meanwhile.)
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from svyaz.context import current_correlation

# a local part starts where a run of its characters starts, and is taken whole
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+")
# at most 42 characters: the backtracking to the last digit is bounded
PHONE = re.compile(r"(?<![\w-])\+?\d[\d ()-]{8,40}\d(?![\w-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
HANDLE = re.compile(r"(?<![\w@])@[A-Za-z][\w]{4,31}\b")
PATTERNS = (("email", EMAIL), ("iban", IBAN), ("phone", PHONE), ("handle", HANDLE))
UUID_LIKE = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
)
# a calendar date (2026-12-06): a period's days, not a phone number
DATE_LIKE = re.compile(r"\b(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b")


MAX_MESSAGE = 4096  # characters of a message or traceback kept in a log line
# how far back from the cut a value split in two is looked for (and dropped)
_CUT_SLACK = 256


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """Cut `text` to about `limit` characters. The cut never leaves half a value
    behind for the patterns to miss: the partial word at the cut is dropped."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    start = limit - _CUT_SLACK
    space = max(head.rfind(" ", start), head.rfind("\n", start))
    head = head[:space] if space > 0 else head[:start]
    return f"{head} [{len(text) - len(head)} characters cut]"


def redact(text: str) -> tuple[str, list[str]]:
    """Replace personal-looking values; return the text and what kinds were found.
    Linear in the length of `text` (see the module's docstring)."""
    found: list[str] = []
    # uuids are ids and dates are days, not personal data; keep them out of the
    # phone pattern's reach
    keep: dict[str, str] = {}

    def _hide(match: re.Match[str]) -> str:
        token = f"\x00{len(keep)}\x00"
        keep[token] = match.group(0)
        return token

    text = DATE_LIKE.sub(_hide, UUID_LIKE.sub(_hide, text))
    for kind, pattern in PATTERNS:
        text, count = pattern.subn(f"[{kind} redacted]", text)
        if count:
            found.append(kind)
    for token, original in keep.items():
        text = text.replace(token, original)
    return text, found


class PersonalDataFilter(logging.Filter):
    """Rewrites records that carry personal-looking values; never drops the event."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format must not break logging
            message = str(record.msg)
        short = shorten(message)
        clean, found = redact(short)
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = logging.Formatter().formatException(record.exc_info)
            short_exc = shorten(exc_text)
            clean_exc, exc_found = redact(short_exc)
            if exc_found or short_exc is not exc_text:
                record.exc_text = clean_exc
                found.extend(exc_found)
        if found or short is not message:
            record.msg = clean
            record.args = None
        if found:
            record.redacted = sorted(set(found))
        return True


class ExpectedErrorFilter(logging.Filter):
    """A refusal a service declared (nameko's "(expected) error handling worker",
    a WARNING with its traceback: a period not over, a second person needed) is
    an INFO line without the traceback: it is an answer, not a fault, and the
    tracebacks buried the real warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.name == "nameko.containers"
            and record.levelno == logging.WARNING
            and str(record.msg).startswith("(expected)")
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and chosen extras."""

    EXTRAS = (
        "service",
        "event_id",
        "event_type",
        "correlation_id",
        "redacted",
        "http",  # the gateway's access log: method, route template, status, ms
        "change",  # a state change (see `state_change`): entity, id, state, ids
    )

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in self.EXTRAS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if "correlation_id" not in entry:
            bound = current_correlation()  # the worker's (svyaz.metrics.Observed)
            if bound:
                entry["correlation_id"] = bound
        if record.exc_info:
            entry["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def state_change(
    logger: logging.Logger, entity: str, entity_id: Any, state: str, **ids: Any
) -> None:
    """One line for a state change a person may ask about later ("was this stipend
    approved, and when?"): the entity, its id, its new state and other ids. Ids
    only: never a name, an address or a free text."""
    change = {"entity": entity, "id": str(entity_id), "state": state}
    change.update({key: str(value) for key, value in ids.items() if value is not None})
    logger.info(
        "%s %s %s",
        entity,
        entity_id,
        state,
        extra={"change": change},
    )


def install(level: int = logging.INFO) -> None:
    """Configure the root logger for a CLI or a test process."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ExpectedErrorFilter())
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
