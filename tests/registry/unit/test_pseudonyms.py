"""The pseudonym rule: one alphabet (Latin or Cyrillic), digits, '.', '_', '-';
uniqueness on a key that ignores case and reads look-alike Cyrillic letters as
Latin."""

import re

import pytest
from marshmallow import ValidationError

from registry import pseudonyms
from registry.schemas import ApplicationSchema

VALID = ["Ivan_77", "swift-fox", "a.b", "123", "Иван", "ёжик-2024", "Ґанна.К", "Їжак"]
BAD_SHAPE = ["ab", "x" * 31, "_ivan", "Ivan Petrov", "iván", "Ivan!", "иван\n"]
MIXED = ["Ivаn", "Иvan", "Boris_Борис", "ПавелP"]  # "Ivаn": a Cyrillic "а"


@pytest.mark.parametrize("value", VALID)
def test_one_alphabet_digits_and_punctuation_are_accepted(value: str) -> None:
    assert pseudonyms.well_formed(value)
    assert not pseudonyms.mixes_scripts(value)
    assert re.fullmatch(pseudonyms.SINGLE_SCRIPT_PATTERN, value)


@pytest.mark.parametrize("value", BAD_SHAPE)
def test_other_characters_and_lengths_are_refused(value: str) -> None:
    assert not pseudonyms.well_formed(value)
    assert not re.fullmatch(pseudonyms.SINGLE_SCRIPT_PATTERN, value)


@pytest.mark.parametrize("value", MIXED)
def test_latin_and_cyrillic_letters_in_one_pseudonym_are_a_mix(value: str) -> None:
    assert pseudonyms.well_formed(value)  # each character alone is allowed
    assert pseudonyms.mixes_scripts(value)
    assert not re.fullmatch(pseudonyms.SINGLE_SCRIPT_PATTERN, value)


def test_the_mixed_message_says_to_use_one_alphabet() -> None:
    assert "use one alphabet" in pseudonyms.MIXED_MESSAGE


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Ivan", "IVAN"),
        ("Иван", "ИВАН"),
        ("ёжик", "ЁЖИК"),
        ("Ґанна", "ґАННА"),
        ("Мама", "mama"),  # all Cyrillic, looks like all Latin
        ("НОТ", "hot"),
        ("Сосо", "coco"),
    ],
)
def test_keys_collide_across_case_and_look_alikes(one: str, other: str) -> None:
    assert pseudonyms.key(one) == pseudonyms.key(other)


@pytest.mark.parametrize(("one", "other"), [("Ivan", "Ivana"), ("Иван", "Ивин")])
def test_different_pseudonyms_keep_different_keys(one: str, other: str) -> None:
    assert pseudonyms.key(one) != pseudonyms.key(other)


def _application(pseudonym: str) -> dict[str, object]:
    return {
        "pseudonym": pseudonym,
        "legal_name": "Ирина Петрова",
        "email": "irina@example.org",
        "country": "GE",
        "city": "Tbilisi",
        "consent_version": "2026-11",
        "consent": True,
    }


def test_the_application_schema_takes_a_cyrillic_pseudonym() -> None:
    assert ApplicationSchema().load(_application(" Ирина_К "))["pseudonym"] == "Ирина_К"


def test_the_application_schema_refuses_a_bad_shape_with_the_rule() -> None:
    with pytest.raises(ValidationError) as err:
        ApplicationSchema().load(_application("Ирина К"))
    assert err.value.messages_dict["pseudonym"] == [pseudonyms.MESSAGE]
