"""Message texts: Jinja2 templates (templates/<name>.txt, a `subject` and a `body`
block) translated by Babel message catalogues (locale/<lang>/LC_MESSAGES/messages.po).

The catalogues are compiled when this module is imported (read_po → write_mo in
memory), so the committed .po files are the only source and nothing can go stale.

Discreet mode: the `discreet` template says only that a message is waiting behind
sign-in; nothing about the programme, money or the war.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from svyaz import money as svyaz_money

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
LOCALES = HERE / "locale"
LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
DISCREET = "discreet"


class UnknownTemplate(LookupError):
    """No template of that name."""


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def language_of(value: str | None) -> str:
    """A supported language: `en-GB` → `en`; anything unknown → Russian."""
    if value:
        short = value.replace("_", "-").split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return DEFAULT_LANGUAGE


def catalogue_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def compile_catalogue(language: str) -> Translations:
    with open(catalogue_path(language), "rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


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


def render_discreet(language: str | None) -> Message:
    return render(DISCREET, language)
