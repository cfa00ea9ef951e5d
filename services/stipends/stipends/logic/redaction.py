"""Removes what could identify or reach a person from a report's narrative.

A narrative is for outcomes ("my father stopped repeating the TV line about NATO"),
never for the people inside Russia it describes. Before a narrative is stored, phone
numbers (international and Russian formats), email addresses, @handles, links (with
or without a scheme, t.me and vk.com included, bare domains too) and card or account
numbers (IBANs too) are replaced by a marker, and the author is told which kinds were
removed.
Pure: no I/O.

The rules lean towards removing too much: a list of large numbers that looks like a
phone number is removed as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("email", "link", "handle", "phone", "number")
MARKERS = {
    "email": "[email removed]",
    "link": "[link removed]",
    "handle": "[handle removed]",
    "phone": "[phone removed]",
    "number": "[number removed]",  # card and account numbers: 16 to 19 digits
}

_TLDS = (
    "com|org|net|edu|gov|info|biz|ru|su|me|io|co|us|uk|eu|de|pl|lt|lv|ee|fi|fr|nl|"
    "ua|by|kz|ge|am|az|uz|kg|tj|tm|md|rs|tr|il|cz|sk|hu|ro|bg|at|ch|se|no|dk|es|it|pt|"
    "ca|tv|cc|ly|gl|gg|to|ws|app|dev|online|site|xyz|link|page|pro|club|live|news|"
    "media|tech|world|chat|social|top|shop|blog"
)
_URL_END = r"(?:[^\s<>\"']*[^\s<>\"'.,;:!?)\]»…])?"

EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}\b", re.UNICODE
)
SCHEME_URL = re.compile(
    r"(?:\b(?:https?|ftp|tg|viber|whatsapp|skype)://|\bwww\.)" + _URL_END,
    re.IGNORECASE,
)
BARE_DOMAIN = re.compile(
    r"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:"
    + _TLDS
    + r")\b(?:[/?#]"
    + _URL_END
    + r")?",
    re.IGNORECASE,
)
CYRILLIC_DOMAIN = re.compile(
    r"(?<![\w@.-])(?:[а-яё0-9-]+\.)+(?:рф|рус)(?![\w])(?:/" + _URL_END + r")?",
    re.IGNORECASE,
)
HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{1,30}[A-Za-z0-9_])")
PHONE_CANDIDATE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]{0,2}\d){5,20}(?![\w])")
LOCAL_PHONE = re.compile(r"^\d{3}-\d{2}-\d{2}$")  # 123-45-67
# an IBAN as printed (country, check digits, then groups of four, spaced or not):
# an account number, as a card number is
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")


@dataclass(frozen=True)
class Redacted:
    text: str
    kinds: list[str]  # what was removed, in KINDS order, each once
    count: int


def _kind_of_number(candidate: str) -> str | None:
    digits = sum(ch.isdigit() for ch in candidate)
    if LOCAL_PHONE.match(candidate):
        return "phone"
    if 16 <= digits <= 19:
        return "number"
    if candidate.startswith("+"):
        return "phone" if 8 <= digits <= 15 else None
    return "phone" if 10 <= digits <= 15 else None


def redact(text: str) -> Redacted:
    found: list[str] = []

    def replace(kind: str):  # type: ignore[no-untyped-def]
        def marker(match: re.Match[str]) -> str:
            found.append(kind)
            return MARKERS[kind]

        return marker

    out = EMAIL.sub(replace("email"), text)
    for pattern in (SCHEME_URL, CYRILLIC_DOMAIN, BARE_DOMAIN):
        out = pattern.sub(replace("link"), out)
    out = HANDLE.sub(replace("handle"), out)
    out = IBAN.sub(replace("number"), out)

    def phone(match: re.Match[str]) -> str:
        kind = _kind_of_number(match.group(0))
        if kind is None:
            return match.group(0)
        found.append(kind)
        return MARKERS[kind]

    out = PHONE_CANDIDATE.sub(phone, out)
    return Redacted(out, [k for k in KINDS if k in found], len(found))
