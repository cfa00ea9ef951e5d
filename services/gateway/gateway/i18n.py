"""The consoles' words in Russian and English: one Babel catalogue per language
(locale/<lang>/LC_MESSAGES/messages.po), the same way the notifications service
speaks. Russian unless the person chose otherwise. Neutral wording everywhere a
screen could be seen over a shoulder.

The .po files are the only source: they are compiled in memory the first time a
language is used (read_po → write_mo), so a clean clone needs no build step and a
compiled file can never go stale.

Where words come from:
- templates: `{{ _("Plain English") }}` or `{% trans %}…{% endtrans %}`
  (jinja2.ext.i18n);
- money: the `money` filter, `{{ amount_minor|money(currency) }}` (`money` below);
- internal codes (statuses, kinds, roles, …): the `label` filter,
  `{{ s.status|label("stipend_status") }}`, from LABELS (gateway/labels.py);
- a service's refusal: `refusal(language, code, message)`, from REFUSALS
  (gateway/refusals.py);
- the few sentences handlers pick by key: `texts(language)[key]`, from TEXTS
  (gateway/refusals.py).

The tables are imported here too (`i18n.LABELS`, `i18n.REFUSALS`, `i18n.TEXTS`).

After adding or changing an English text, from services/gateway:

    pybabel extract -F babel.cfg --no-location --omit-header -o /tmp/gateway.pot gateway
    pybabel update -i /tmp/gateway.pot -d gateway/locale --no-fuzzy-matching

then write its Russian (and English) msgstr. tests/gateway/unit/test_i18n.py fails
while a text has no Russian translation or a catalogue keeps a text nobody uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.support import Translations

from gateway.labels import (
    ENTITLEMENT_REASONS,
    JOURNAL_ENTRY,
    JOURNAL_ENTRY_WORDS,
    LABELS,
    NOT_ELIGIBLE,
    NOT_ELIGIBLE_WORDS,
    REDACTION_MARKERS,
    TRAIL_DETAILS,
)
from gateway.labels import N_ as N_  # still gateway.i18n.N_
from gateway.refusals import (
    FIELD_FAULT,
    FIELD_FAULTS,
    FILE_FAULTED,
    FILE_FAULTS,
    LINE_NAMED,
    REFUSALS,
    STATE_CODE,
    STATE_REFUSAL,
    TEXTS,
    THINGS,
)
from svyaz import dates, languages, vocabulary
from svyaz import money as svyaz_money
from svyaz.countries import ISO_COUNTRIES
from svyaz.languages import LANGUAGES as LANGUAGES
from svyaz.languages import language_of as language_of

HERE = Path(__file__).parent
LOCALES = HERE / "locale"


def catalogue_path(language: str) -> Path:
    return languages.catalogue_path(LOCALES, language)


@cache
def translations(language: str) -> Translations:
    """The language's catalogue, compiled in memory once per process."""
    return languages.compile_catalogue(LOCALES, language_of(language))


def gettext(language: str, msgid: str) -> str:
    return str(translations(language).gettext(msgid))


@cache
def texts(language: str) -> Mapping[str, str]:
    """The handlers' sentences in `language`, by key (a KeyError for an unknown key,
    as before). New code translates with `gettext` or in the template instead."""
    return {key: gettext(language, msgid) for key, msgid in TEXTS.items()}


# -- money -------------------------------------------------------------------------
def money(language: str, amount_minor: int | None, currency: str | None) -> str:
    """An amount in minor units as the language writes it, with the currency's ISO
    4217 exponent: 25000 EUR → "€250.00" / "250,00 €"; 500 JPY → "¥500"; 1234 KWD
    → "KWD 1.234". The one place the consoles format money (svyaz.money)."""
    return svyaz_money.display(amount_minor, currency, language_of(language))


# -- dates -------------------------------------------------------------------------
def day(language: str, value: str | date | None) -> str:
    """A date as the language writes it (svyaz.dates.day): "Dec 8, 2026"."""
    return dates.day(value, language_of(language))


def moment(language: str, value: str | datetime | None, seconds: bool = False) -> str:
    """A moment with its time in UTC (svyaz.dates.moment): "Dec 8, 2026, 14:05
    UTC"; with `seconds`, 14:05:33, for a history whose lines share a minute."""
    return dates.moment(value, language_of(language), seconds)


def month(language: str, value: str | None) -> str:
    """A cycle's period as the language names it (svyaz.dates.month)."""
    return dates.month(value, language_of(language))


def to_minor(amount: str, currency: str) -> int:
    """An amount typed in major units ("250", "250.5", "250,50") as minor units of
    the currency (ISO 4217 exponent); svyaz.money.InvalidAmount (a ValueError) if
    it is not one, or has more decimals than the currency."""
    return svyaz_money.parse(amount, currency)


def currency_step(currency: str) -> str:
    """The smallest step of a money input: 1 for JPY, 0.01 for EUR, 0.001 for KWD."""
    return svyaz_money.step(currency)


def countries(language: str) -> list[tuple[str, str]]:
    """ISO 3166-1 countries (two letters) by name in the reader's language."""
    names = Locale.parse(language_of(language)).territories
    found = [(code, name) for code, name in names.items() if code in ISO_COUNTRIES]
    return sorted(found, key=lambda pair: pair[1])


def spoken_languages(language: str) -> list[tuple[str, str]]:
    names = Locale.parse(language_of(language)).languages
    return [(code, names.get(code, code)) for code in vocabulary.SPOKEN]


def label(language: str, kind: str, code: str | None) -> str:
    """The label of an internal code; an unknown code shows as words ("new_state"
    → "New state"), never an error, so a new code in a service does not break a
    page before it gets its label."""
    if code is None or code == "":
        return "—"
    msgid = LABELS.get(kind, {}).get(str(code))
    if msgid is None:
        words = str(code).replace("_", " ").strip()
        return words[:1].upper() + words[1:]
    return gettext(language, msgid)


# refusals of a file that say which of its lines could not be read
_LINE = re.compile(r"\bline (?P<line>\d+)\b")


def refusal(language: str, code: str | None, message: str) -> str:
    """What the console says when a service refuses: the translated text for a
    known code (saying what to do next), otherwise the service's own message. A
    file's refusal names the line the service stopped at."""
    code = code or ""
    if code in REFUSALS:
        said = gettext(language, REFUSALS[code])
        found = _LINE.search(message) if code in LINE_NAMED else None
        if found:
            said += " " + gettext(language, LINE_NAMED[code]) % found.groupdict()
        if code in FILE_FAULTED:
            fault = _FILE_LINE.sub("", message, count=1).split("; ")[0]
            worded = _worded(language, fault, _FILE_FAULTS)
            if worded:
                said += " " + worded
        return said
    state = STATE_CODE.match(code)
    if state:
        thing, kind = THINGS[state.group(1)]
        if state.group(2) in LABELS[kind]:
            return gettext(language, STATE_REFUSAL) % {
                "thing": gettext(language, thing),
                "state": label(language, kind, state.group(2)),
            }
    return message


def field_fault(language: str, messages: list[str]) -> str:
    """A field's fault, as the form shows it next to the field in `language`: the
    first of the service's messages that FIELD_FAULTS knows, else a general
    sentence (a service's English words never appear in a Russian form)."""
    for message in messages:
        for pattern, msgid in FIELD_FAULTS:
            found = pattern.match(message)
            if found:
                values = found.groupdict()
                if "day" in values:  # a service writes ISO 8601; people read days
                    values["day"] = day(language, values["day"])
                return gettext(language, msgid) % values
    return gettext(language, FIELD_FAULT)


Table = list[tuple[re.Pattern[str], str]]
_REASONS: Table = [(re.compile(rf"^{p}$"), msgid) for p, msgid in ENTITLEMENT_REASONS]
_FILE_FAULTS: Table = [(re.compile(rf"^{p}$"), msgid) for p, msgid in FILE_FAULTS]
# "report line 3: " or "statement line 3: ", before a file's fault
_FILE_LINE = re.compile(r"^(?:report|statement) line \d+: ")
_DETAILS: Table = [(re.compile(rf"^{p}$"), msgid) for p, msgid in TRAIL_DETAILS]
_ENTRY = re.compile(rf"^{JOURNAL_ENTRY}$")
# the codes a sentence may hold, shown by their labels
_LABELLED = {"status": "communicator_status", "tier": "tier", "provider": "provider"}


# the amounts a sentence may hold ("350.00 EUR", as stipends writes them), shown
# as the page writes money ("350,00 €")
_AMOUNTS = {"amount", "before", "after"}
_WRITTEN_AMOUNT = re.compile(r"^(?P<number>-?\d+(?:\.\d+)?) (?P<currency>[A-Z]{3})$")


def _amount(language: str, text: str) -> str:
    found = _WRITTEN_AMOUNT.match(text)
    if found is None:
        return text
    try:
        minor = svyaz_money.parse(found["number"], found["currency"], signed=True)
    except ValueError:
        return text
    return money(language, minor, found["currency"])


def _worded(language: str, text: str, table: Table) -> str | None:
    """`text` in `language` by the first pattern of `table` it matches (its codes
    as labels, the rest carried over), or None."""
    for pattern, msgid in table:
        found = pattern.match(text)
        if found is None:
            continue
        values = {
            name: label(language, _LABELLED[name], value)
            if name in _LABELLED
            else _amount(language, value)
            if name in _AMOUNTS
            else value
            for name, value in found.groupdict().items()
        }
        return gettext(language, msgid) % values
    return None


def entitlement_reason(language: str, text: str, bare: bool = False) -> str:
    """One of stipends' sentences of why a stipend is (not) due, in `language`:
    its codes (a status, a tier) as labels; a sentence it does not know, as is.
    `bare`: without "not eligible:" (where the page says it once already)."""
    refused = text.startswith(NOT_ELIGIBLE)
    said = _worded(language, text[len(NOT_ELIGIBLE) :] if refused else text, _REASONS)
    if said is None:
        return text[len(NOT_ELIGIBLE) :] if refused and bare else text
    if refused and not bare:
        return gettext(language, NOT_ELIGIBLE_WORDS) % {"why": said}
    return said


def trail_detail(language: str, text: str) -> str:
    """What a trail says of a step (stipends' words, or a journal entry's memo with
    its number), in `language`; text it does not know (a person's own words), as
    is."""
    entry = _ENTRY.match(text)
    if entry is not None:
        memo = _worded(language, entry.group("memo"), _DETAILS)
        if memo is None:
            return text
        return gettext(language, JOURNAL_ENTRY_WORDS) % {
            "memo": memo,
            "entry": entry.group("entry"),
        }
    return _worded(language, text, _DETAILS) or text


def country(language: str, code: str | None) -> str:
    """A country's name in `language` (ISO 3166-1 code → "Грузия"); the code itself
    if the locale has no name for it."""
    if not code:
        return "—"
    return str(Locale.parse(language_of(language)).territories.get(code, code))


NOTIFICATION_PURPOSE = "notification:"


def read_purpose(language: str, text: str) -> str:
    """Why data was read, in `language`: a service's fixed purpose by its label
    (a notification by the message it sent); a person's own words as written."""
    if text.startswith(NOTIFICATION_PURPOSE):
        template = text.removeprefix(NOTIFICATION_PURPOSE)
        what = label(language, "notification", template)
        return gettext(language, N_("sending the message “%(what)s”")) % {"what": what}
    msgid = LABELS["read_purpose"].get(text)
    return gettext(language, msgid) if msgid else text


def redactions(language: str, text: str) -> str:
    """A person's text with the marks of what was removed from it (contacts,
    links) in `language`; their own words as they wrote them."""
    for marker, msgid in REDACTION_MARKERS.items():
        if marker in text:
            text = text.replace(marker, gettext(language, msgid))
    return text


def stored_markers(text: str) -> str:
    """`redactions` undone: a text edited in a form that showed its marks in the
    reader's language goes back with the marks as stored (stipends' own), so an
    admin reading it in another language still reads them in theirs."""
    for marker, msgid in REDACTION_MARKERS.items():
        for language in LANGUAGES:
            shown = gettext(language, msgid)
            if shown != marker and shown in text:
                text = text.replace(shown, marker)
    return text
