"""Message texts: Jinja2 templates (templates/<name>.txt, a `subject` and a `body`
block) translated by Babel message catalogues (locale/<lang>/LC_MESSAGES/messages.po).

The catalogues are compiled when this module is imported (read_po → write_mo in
memory), so the committed .po files are the only source and nothing can go stale.

Discreet mode: the `discreet` template says only that a message is waiting behind
sign-in; nothing about the programme, money or the war.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from svyaz import dates, languages
from svyaz import money as svyaz_money
from svyaz.languages import LANGUAGES as LANGUAGES
from svyaz.languages import language_of as language_of

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
LOCALES = HERE / "locale"
DISCREET = "discreet"


class UnknownTemplate(LookupError):
    """No template of that name."""


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def catalogue_path(language: str) -> Path:
    return languages.catalogue_path(LOCALES, language)


def compile_catalogue(language: str) -> Translations:
    return languages.compile_catalogue(LOCALES, language)


@cache
def _names() -> frozenset[str]:
    return frozenset(p.stem for p in TEMPLATES.glob("*.txt"))


def template_names() -> list[str]:
    return sorted(_names())


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701 - plain-text mail and inbox; never HTML
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        compile_catalogue(language), newstyle=True
    )

    def money(amount_minor: int, currency: str) -> str:
        return svyaz_money.display(amount_minor, currency, language)

    env.filters["money"] = money
    env.filters["day"] = lambda value: dates.day(value, language)
    env.filters["moment"] = lambda value: dates.moment(value, language)
    env.filters["month"] = lambda value: dates.month(value, language)
    return env


def _block(template: Any, name: str, params: dict[str, Any]) -> str:
    context = template.new_context(dict(params))
    return "".join(template.blocks[name](context))


def render(template: str, language: str | None, **params: Any) -> Message:
    """The message `template` in `language` (Russian when unknown or missing)."""
    if template not in _names():
        raise UnknownTemplate(template)
    env = environment(language_of(language))
    loaded = env.get_template(f"{template}.txt")
    subject = " ".join(_block(loaded, "subject", params).split())
    body = _block(loaded, "body", params).strip() + "\n"
    return Message(subject, body)


def render_discreet(
    language: str | None, staff: bool = False, signs_in: bool = False
) -> Message:
    """The neutral message; a communicator's tells how to set a password when they
    have none (`signs_in` false: one may apply without), a staff member's does not
    (staff set theirs when invited)."""
    return render(DISCREET, language, staff=staff, signs_in=signs_in)
