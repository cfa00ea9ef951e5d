"""Templates and catalogues: every message exists in Russian and English, and the
discreet message gives nothing away in either."""

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from notifications import templates
from notifications.templates import LANGUAGES, render, render_discreet
from svyaz.vocabulary import PAYOUT_FAILURE_REASONS

# one realistic set of parameters per template; a new template must add its own
PARAMS = {
    "discreet": {},
    "application_received": {},
    "application_accepted": {},
    "application_rejected": {},
    "payout_setup_needed": {"provider": "stripe_connect"},
    "report_accepted": {},
    "report_changes_requested": {},
    "report_rejected": {},
    "report_feedback": {},
    "strategy_comment": {},
    "strategy_shared": {},
    "strategy_answer": {},
    "report_answer": {},
    "stipend_approved": {"amount_minor": 30000, "currency": "EUR"},
    "stipend_withdrawn": {"amount_minor": 30000, "currency": "EUR"},
    "stipend_on_hold": {"amount_minor": 30000, "currency": "EUR"},
    "payout_paid": {"amount_minor": 30000, "currency": "EUR"},
    "receipt_resolved": {"resolution": "paid_confirmed_by_provider"},
    "payout_failed": {
        "amount_minor": 30000,
        "currency": "EUR",
        "reason": "returned",
    },
    "staff_digest": {
        "applications": 3,
        "reports": 1,
        "approvals": 2,
        "strategies": 1,
        "approvals_yours": True,
    },
    "password_reset": {"minutes": 30, "link": "https://example.org/reset?token=x"},
    "staff_invitation": {"hours": 72, "link": "https://example.org/reset?token=x"},
    "report_due": {"period": "2026-11", "deadline": "2026-11-30"},
    "run_waiting": {"payouts": 12},
    "reconciliation_discrepancies": {"count": 3},
    "reconciliation_overdue": {},
    "vouch_requested": {},
}
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


def extracted_msgids() -> set[str]:
    found = extract_from_dir(
        str(templates.HERE),
        method_map=[("templates/**.txt", "jinja2")],
        options_map={"templates/**.txt": {"extensions": "jinja2.ext.i18n"}},
    )
    return {message for _, _, message, _, _ in found}


def catalogue(language: str) -> dict[str, object]:
    with open(templates.catalogue_path(language), "rb") as handle:
        catalog = read_po(handle, locale=language)
    return {m.id: m for m in catalog if m.id}


def test_the_templates_hold_messages_to_translate() -> None:
    assert len(extracted_msgids()) > 20


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_msgid_is_translated(language: str) -> None:
    messages = catalogue(language)
    for msgid in extracted_msgids():
        assert msgid in messages, f"{language}: {msgid!r} missing from the catalogue"
        message = messages[msgid]
        assert message.string, f"{language}: {msgid!r} has no translation"
        assert not message.fuzzy, f"{language}: {msgid!r} is fuzzy"
        if language == "ru":
            assert CYRILLIC.search(message.string), f"ru: {msgid!r} left in English"
        # the placeholders survive translation
        assert set(re.findall(r"%\(\w+\)s", msgid)) == set(
            re.findall(r"%\(\w+\)s", message.string)
        ), msgid


def test_no_catalogue_entry_is_left_over_from_a_removed_template() -> None:
    for language in LANGUAGES:
        assert set(catalogue(language)) == extracted_msgids()


def test_every_template_has_parameters_in_this_test() -> None:
    assert set(templates.template_names()) == set(PARAMS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_template_renders_in_both_languages(name: str, language: str) -> None:
    message = render(name, language, **PARAMS[name])
    assert message.subject and "\n" not in message.subject
    assert message.body.strip()
    assert "%(" not in message.subject + message.body
    assert "{" not in message.subject + message.body
    is_russian = bool(CYRILLIC.search(message.subject + message.body))
    assert is_russian == (language == "ru")


def test_amounts_are_formatted_for_the_language() -> None:
    params = PARAMS["stipend_approved"]
    assert "€300.00" in render("stipend_approved", "en", **params).body
    assert "300,00\xa0€" in render("stipend_approved", "ru", **params).body


def advice(reason: str, language: str) -> str:
    body = render(
        "payout_failed", language, **{**PARAMS["payout_failed"], "reason": reason}
    ).body
    return body.split("\n", 1)[1].strip()  # what follows "could not be made"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_failed_payout_says_what_to_do_for_every_reason_stipends_gives(
    language: str,
) -> None:
    fallback = advice("a_reason_added_later", language)
    assert fallback  # an unknown code still says where to look
    words = {reason: advice(reason, language) for reason in PAYOUT_FAILURE_REASONS}
    for reason, text in words.items():
        assert text and text != fallback, f"payout_failed has no advice for {reason}"
    assert len(set(words.values())) == len(words)  # each says its own thing
    assert "Nothing needs to change on your side" in advice("provider_refused", "en")


FORBIDDEN = (
    "stipend", "program", "war", "svyaz", "communicator", "payment", "payout",
    "€", "eur", "стипенд", "программ", "войн", "связь", "выплат", "коммуникатор",
)  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_discreet_message_gives_nothing_away(language: str) -> None:
    message = render_discreet(language)
    text = (message.subject + " " + message.body).lower()
    for word in FORBIDDEN:
        assert word not in text, word
    expected = {
        "en": "You have a new message in your account",
        "ru": "В вашем личном кабинете новое сообщение",
    }
    assert expected[language] in message.body
    # someone who applied without a password is told how to get in
    way_in = {"en": "“Forgot your password?”", "ru": "«Забыли пароль?»"}
    assert way_in[language] in message.body
    # staff set theirs when invited: theirs does not say it
    staff = render_discreet(language, staff=True)
    assert way_in[language] not in staff.body
    assert expected[language] in staff.body and staff.subject == message.subject


def test_the_language_defaults_to_russian() -> None:
    assert templates.language_of(None) == "ru"
    assert templates.language_of("de") == "ru"
    assert templates.language_of("en-GB") == "en"
    assert render_discreet("xx").subject == "Новое сообщение"


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(templates.UnknownTemplate):
        render("no_such_template", "en")


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "In one payout run, reconciling against the provider found 3"),
        (
            "ru",
            "В одном пакете выплат сверка с платёжным сервисом нашла расхождений: 3",
        ),
    ],
)
def test_the_differences_message_says_its_count_is_one_runs(
    language: str, said: str
) -> None:
    """A reconciliation over several runs sends one message per run with
    differences: each says its count is that run's, not the reconciliation's."""
    assert said in render("reconciliation_discrepancies", language, count=3).body


@pytest.mark.parametrize(
    ("language", "provider", "said"),
    [
        (
            "en",
            "bank_file",
            "Reconciling the bank transfers of Nov 1, 2026 to Nov 30, 2026",
        ),
        (
            "en",
            "stripe_connect",
            "Reconciling Stripe Connect for Nov 1, 2026 to Nov 30, 2026",
        ),
        (
            "ru",
            "bank_file",
            "Сверка банковских переводов с 1 нояб. 2026\u202fг. "
            "по 30 нояб. 2026\u202fг.",
        ),
    ],
)
def test_the_differences_message_names_the_provider_and_the_period(
    language: str, provider: str, said: str
) -> None:
    """Finance reads which reconciliation found them: the provider and the
    period's first and last day, when the event gives them."""
    body = render(
        "reconciliation_discrepancies",
        language,
        count=2,
        provider=provider,
        provider_name="Stripe Connect" if provider == "stripe_connect" else "",
        first_day="2026-11-01",
        last_day="2026-11-30",
    ).body
    assert said in body and "2" in body


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "en",
            "Your activity report for November 2026 is due by Nov 30, 2026, 18:00 UTC",
        ),
        ("ru", "за ноябрь 2026 нужно сдать до 30 нояб. 2026\u202fг., 18:00 UTC"),
    ],
)
def test_a_reminder_names_the_month_and_the_deadline_s_hour(
    language: str, said: str
) -> None:
    """The period and the deadline as the reader's language writes them, the
    deadline with its hour (UTC): a report is due at a moment, not a day."""
    body = render(
        "report_due", language, period="2026-11", deadline="2026-11-30T18:00:00+00:00"
    ).body
    assert said in body, body
