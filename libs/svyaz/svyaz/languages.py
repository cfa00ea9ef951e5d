"""The languages people read Svyaz in, and the Babel catalogues that word it: each
service that speaks to people (the gateway's consoles, the notifications' messages)
keeps its own catalogues, locale/<lang>/LC_MESSAGES/messages.po, compiled in memory
when first used (read_po → write_mo), so the committed .po files are the only source
and nothing compiled can go stale."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"


def language_of(value: str | None) -> str:
    """A supported language: `en-GB` → `en`; anything unknown → Russian."""
    if value:
        short = value.replace("_", "-").split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return DEFAULT_LANGUAGE


def catalogue_path(locales: Path, language: str) -> Path:
    """The catalogue of `language` in a service's `locales` folder."""
    return locales / language / "LC_MESSAGES" / "messages.po"


def compile_catalogue(locales: Path, language: str) -> Translations:
    """The catalogue of `language` in `locales`, compiled in memory."""
    with open(catalogue_path(locales, language), "rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)
