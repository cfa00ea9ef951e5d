"""Narratives are for outcomes, not for the people in them: contacts and links are
removed before storage and the author is told which kinds went."""

import pytest

from stipends.logic.redaction import redact

RUSSIAN = (
    "В этом месяце я шесть раз говорила с мамой в Самаре. Сначала она повторяла, что "
    "«НАТО напало бы первым», но после третьего разговора сама спросила про цены. "
    "Её соседка Галина тоже хочет поговорить, её номер +7 916 123-45-67, а ещё "
    "8 (916) 1234567 у её сына. Пишите ей на galina.petrova@mail.ru или в телеграм "
    "@galina_samara, канал t.me/samara_pravda и группа vk.com/club12345. "
    "Разговоров было 14, часов около 9, с 2022 по 2024 год мы не общались."
)

ENGLISH = (
    "I talked with my former colleagues from the Kazan plant on 3 calls (about 4 "
    "hours). Dmitry shared the article from https://meduza.io/feature/2026/11/01/x, "
    "and asked me to reach his brother at +7-987-654-32-10 or d.brother@yandex.ru. "
    "His sister posts as @sis_kazan on Instagram; see also www.example.org and "
    "navalny.com. My father's number is 123-45-67. We discussed 2 topics."
)


def test_a_russian_narrative_loses_every_contact_and_keeps_the_story() -> None:
    result = redact(RUSSIAN)
    for secret in (
        "916",
        "1234567",
        "galina.petrova",
        "mail.ru",
        "@galina_samara",
        "samara_pravda",
        "vk.com",
        "club12345",
    ):
        assert secret not in result.text, secret
    assert result.kinds == ["email", "link", "handle", "phone"]
    assert result.count == 6
    assert result.text.count("[phone removed]") == 2
    # the outcome, the figures and the years stay
    for kept in ("шесть раз", "про цены", "Разговоров было 14", "с 2022 по 2024"):
        assert kept in result.text
    assert "Галина" in result.text  # names are the author's duty; contacts are ours


def test_an_english_narrative_loses_every_contact_and_keeps_the_story() -> None:
    result = redact(ENGLISH)
    for secret in (
        "meduza.io",
        "987",
        "d.brother",
        "yandex",
        "@sis_kazan",
        "example.org",
        "navalny.com",
        "123-45-67",
    ):
        assert secret not in result.text, secret
    assert result.kinds == ["email", "link", "handle", "phone"]
    assert result.text.count("[link removed]") == 3
    assert result.text.count("[phone removed]") == 2
    assert "on 3 calls (about 4 hours)" in result.text
    assert "We discussed 2 topics." in result.text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("звоните +7 (916) 123-45-67 вечером", "phone"),
        ("мой старый 89161234567", "phone"),
        ("+995 555 12 34 56 in Tbilisi", "phone"),
        ("+49 30 1234567", "phone"),
        ("write to ivan@example.com.", "email"),
        ("почта Иван.Петров@почта.рф", "email"),
        ("see https://t.me/+AbCdEf123", "link"),
        ("канал t.me/svoboda_news.", "link"),
        ("tg://resolve?domain=someone", "link"),
        ("сайт навальный.рф", "link"),
        ("блог на example.blog/post/1", "link"),
        ("ping @ivan_99!", "handle"),
        ("+7(916)123-45-67", "phone"),
        ("8-916-123-45-67", "phone"),
        ("wa.me/79161234567", "link"),
        ("vk.com/id12345", "link"),
        ("карта 4276 1234 5678 9012 у сестры", "number"),
        ("Ivan.Petrov@Example.COM", "email"),
        ("my account GE29NB0000000101904917 at the bank", "number"),
        ("IBAN DE89 3704 0044 0532 0130 00.", "number"),
    ],
)
def test_each_kind_of_contact_is_recognised(text: str, kind: str) -> None:
    result = redact(text)
    assert result.kinds == [kind], (text, result)


@pytest.mark.parametrize(
    "text",
    [
        "Провела 12 разговоров за 15 часов, 3 из них с коллегами.",
        "From 2022-2024 we did not speak; on 12.03.2026 we did.",
        "т.е. отец стал сомневаться, e.g. about prices.",
        "It cost 1500 rubles, about 15.50 EUR.",
        "Созвонились в 10:30, потом ещё в 21:15.",
        "Flight SU12 to Moscow was late; AB12 CDEF was his seat code.",
        "Зарплата 1 000 000 рублей в год, 2 500 000 у брата.",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    result = redact(text)
    assert result.text == text and result.kinds == [] and result.count == 0
