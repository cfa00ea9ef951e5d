"""What a pseudonym may be, and the key two pseudonyms collide on.

A pseudonym is 3 to 30 characters: letters of one alphabet (Latin or Cyrillic),
digits, '.', '_' and '-', starting with a letter or a digit. A mix of Latin and
Cyrillic letters is refused: "Ivаn" with a Cyrillic "а" looks exactly like "Ivan".

Uniqueness compares `key(pseudonym)`: case-folded (so "Ivan" and "IVAN", "Иван" and
"ИВАН" collide) and with the Cyrillic letters that look like Latin ones read as those
Latin letters (so the all-Cyrillic "Мама" collides with the all-Latin "Mama").
"""

from __future__ import annotations

import re

# The Cyrillic letters: U+0400 to U+045F (Russian, Ukrainian, Belarusian, Serbian,
# Macedonian letters, every one a letter) and Ґ ґ (U+0490, U+0491).
LATIN = "A-Za-z"
CYRILLIC = "\u0400-\u045f\u0490\u0491"
PATTERN = rf"^[{LATIN}{CYRILLIC}0-9][{LATIN}{CYRILLIC}0-9_.-]{{2,29}}$"
MESSAGE = (
    "3 to 30 letters, digits, '.', '_' or '-', starting with a letter or digit; "
    "letters of one alphabet, Latin or Cyrillic"
)
MIXED_MESSAGE = (
    "use one alphabet: this pseudonym mixes Latin and Cyrillic letters, which "
    "can look like someone else's; type it again in Latin letters only or in "
    "Cyrillic letters only"
)
# One regular expression for the whole rule, for a caller (the gateway) that
# checks before sending: one alphabet or the other, never both.
SINGLE_SCRIPT_PATTERN = (
    rf"^(?:[{LATIN}0-9][{LATIN}0-9_.-]{{2,29}}"
    rf"|[{CYRILLIC}0-9][{CYRILLIC}0-9_.-]{{2,29}})$"
)

_SHAPE = re.compile(PATTERN)
_LATIN = re.compile(f"[{LATIN}]")
_CYRILLIC = re.compile(f"[{CYRILLIC}]")

# Cyrillic letters (after case folding) read as the Latin letter they look like in
# either case: "нот" and "НОТ" both resemble "hot"/"HOT".
_LOOKALIKES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "і": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
    }
)


def well_formed(value: str) -> bool:
    """The characters and the length are right (either alphabet)."""
    return bool(_SHAPE.fullmatch(value))


def mixes_scripts(value: str) -> bool:
    """Latin and Cyrillic letters in one pseudonym."""
    return bool(_LATIN.search(value)) and bool(_CYRILLIC.search(value))


def key(value: str) -> str:
    """What uniqueness compares: case-folded, look-alike letters read as Latin."""
    return value.casefold().translate(_LOOKALIKES)
