"""The consoles' words: every text of every template and of gateway.i18n is in the
Russian and English catalogues, money is written with the currency's own exponent,
every internal code a page shows has a label, and refusals say what to do next."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from gateway import i18n, impact, pages, schemas, web
from registry import models as registry_models
from registry import schemas as registry_schemas
from registry.logic import passwords
from stipends import events as payout_events
from stipends import schemas as stipends_schemas
from stipends.logic.payouts.webhooks import TRANSFER_EVENTS
from stipends.logic.redaction import KINDS as REDACTION_KINDS
from stipends.payouts import models as payout_models
from tests.helpers import written_day

GATEWAY = Path(i18n.__file__).parent
TEMPLATES = GATEWAY / "templates"
BABEL_CFG = GATEWAY.parent / "babel.cfg"
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
NBSP = "\u00a0"
FORMS = {"en": 2, "ru": 3}  # plural forms (the catalogues' Plural-Forms)


def extracted_msgids() -> set[str]:
    """What babel.cfg extracts: the templates and gateway/{i18n,labels,refusals}.py
    (read from babel.cfg itself, so the test and `pybabel extract` agree)."""
    with open(BABEL_CFG) as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(BABEL_CFG))
    found = extract_from_dir(
        str(GATEWAY), method_map=method_map, options_map=options_map
    )
    return {message for _, _, message, _, _ in found}


def catalogue(language: str) -> dict[str, object]:
    with open(i18n.catalogue_path(language), "rb") as handle:
        catalog = read_po(handle, locale=language)
    return {m.id: m for m in catalog if m.id}


def test_the_templates_hold_messages_to_translate() -> None:
    assert len(extracted_msgids()) > 300


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_msgid_is_translated(language: str) -> None:
    messages = catalogue(language)
    for msgid in extracted_msgids():
        assert msgid in messages, f"{language}: {msgid!r} missing from the catalogue"
        message = messages[msgid]
        assert not message.fuzzy, f"{language}: {msgid!r} is fuzzy"
        # a plural entry has one text per plural form of the language (Russian
        # three: 1 заявка, 2 заявки, 5 заявок), each translated
        plural = isinstance(msgid, tuple)
        strings = message.string if plural else (message.string,)
        assert len(strings) == (FORMS[language] if plural else 1), msgid
        for string in strings:
            assert string, f"{language}: {msgid!r} has no translation"
            if language == "ru":
                assert CYRILLIC.search(string) or string in {
                    "Stripe Connect",
                    "Stripe Global Payouts",
                    "Telegram",
                }, f"ru: {msgid!r} left in English"
            source = msgid[0] if plural else msgid
            assert set(re.findall(r"%\(\w+\)s", source)) == set(
                re.findall(r"%\(\w+\)s", string)
            ), msgid


@pytest.mark.parametrize(
    "language,counts",
    [
        ("en", {1: "1 application to vet", 2: "2 applications to vet"}),
        (
            "ru",
            {
                1: "1 заявка ждёт проверки",
                3: "3 заявки ждут проверки",
                5: "5 заявок ждут проверки",
                11: "11 заявок ждут проверки",
                21: "21 заявка ждёт проверки",
            },
        ),
    ],
)
def test_counts_are_written_in_the_language_s_plural_forms(
    language: str, counts: dict[int, str]
) -> None:
    template = web.environment(language).from_string(
        '{{ n }} {{ ngettext("application to vet", "applications to vet", n) }}'
    )
    assert {n: template.render(n=n) for n in counts} == counts


def test_no_catalogue_entry_is_left_over() -> None:
    for language in i18n.LANGUAGES:
        assert set(catalogue(language)) == extracted_msgids()


def test_templates_use_only_keys_the_catalogue_has() -> None:
    """`t.key` / `t["key"]` (the handlers' sentences) must name a TEXTS key, and no
    template may still build a key at run time (t["role_" ~ role])."""
    for path in TEMPLATES.glob("*.html"):
        source = path.read_text()
        for key in re.findall(r"\bt\.(\w+)|\bt\[\"(\w+)\"\]", source):
            name = key[0] or key[1]
            assert name in i18n.TEXTS, f"{path.name}: t.{name} is not in i18n.TEXTS"
        assert not re.search(r"\bt\[[^\"]", source), f"{path.name}: computed t[...]"


def test_a_template_with_a_missing_key_is_caught(tmp_path: Path) -> None:
    """The check above is not vacuous: a template naming an unknown key fails it."""
    source = '{{ t.forbidden }} {{ t["no_such_key"] }}'
    names = [a or b for a, b in re.findall(r"\bt\.(\w+)|\bt\[\"(\w+)\"\]", source)]
    assert [n for n in names if n not in i18n.TEXTS] == ["no_such_key"]


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_texts_by_key_come_from_the_catalogue(language: str) -> None:
    texts = web.texts(language)
    assert set(texts) == set(i18n.TEXTS)
    for key, msgid in i18n.TEXTS.items():
        assert texts[key] == catalogue(language)[msgid].string  # type: ignore[attr-defined]
    with pytest.raises(KeyError):
        texts["no_such_key"]


def test_handlers_keep_their_sentences() -> None:
    assert web.texts("ru")["received"].startswith("Спасибо. Ваша заявка получена")
    assert web.texts("ru")["failed_sign_in"] == "Неверная почта, пароль или код."
    assert "72 hours" in web.texts("en")["invited"]
    assert web.texts("xx") == web.texts("ru")  # unknown language: Russian


# -- money ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "language,minor,currency,shown",
    [
        ("en", 500, "JPY", "¥500"),
        ("ru", 500, "JPY", f"500{NBSP}¥"),
        ("en", 25000, "EUR", "€250.00"),
        ("ru", 25000, "EUR", f"250,00{NBSP}€"),
        ("en", 1234, "KWD", "KWD1.234"),
        ("ru", 1234, "KWD", f"1,234{NBSP}KWD"),
        ("en", 123456789, "EUR", "€1,234,567.89"),
        ("ru", 5, "usd", f"0,05{NBSP}$"),
    ],
)
def test_money_uses_the_currencys_exponent(
    language: str, minor: int, currency: str, shown: str
) -> None:
    assert web.money(language, minor, currency).replace(" ", NBSP) == shown.replace(
        " ", NBSP
    )


@pytest.mark.parametrize(
    "currency,typed,minor,too_fine,code",
    [
        ("JPY", "25000", 25000, "25000.5", "amount_no_decimals"),
        ("EUR", "250,5", 25050, "250.505", "amount_two_decimals"),
        ("KWD", "25.125", 25125, "25.1255", "amount_three_decimals"),
    ],
)
def test_a_console_form_reads_an_amount_by_the_currencys_exponent(
    currency: str, typed: str, minor: int, too_fine: str, code: str
) -> None:
    from gateway.console.programmes import amount, major
    from gateway.exceptions import BadRequest

    assert amount(typed, currency, "amount") == minor
    assert amount(major(minor, currency), currency, "amount") == minor
    with pytest.raises(BadRequest) as refused:
        amount(too_fine, currency, "amount")
    assert refused.value.code == code
    (said,) = refused.value.fields["amount"]
    # the page says how many decimals the currency takes, in both languages, at
    # the top and next to the field
    for language in ("en", "ru"):
        sentence = i18n.refusal(language, code, "")
        assert sentence and sentence != i18n.refusal(language, "invalid_amount", "")
        beside = i18n.field_fault(language, [said])
        assert beside != i18n.field_fault(language, ["not an amount"])
        assert beside != i18n.gettext(language, "Correct this field and send again.")
    with pytest.raises(BadRequest) as refused:
        amount("two hundred", currency, "amount")
    assert refused.value.code == "invalid_amount"
    assert refused.value.fields == {"amount": ["not an amount"]}


def test_money_filter_in_a_template() -> None:
    env = web.environment("en")
    template = env.from_string("{{ a|money(c) }}|{{ none|money('EUR') }}")
    assert template.render(a=1500, c="JPY") == "¥1,500|—"


def test_no_template_formats_money_by_hand() -> None:
    for path in TEMPLATES.glob("*.html"):
        source = path.read_text()
        assert "/ 100" not in source and "%.2f" not in source, path.name


# -- labels ----------------------------------------------------------------------------
NOTIFICATIONS = Path(__file__).parents[3] / "services/notifications/notifications"
ENUMS: dict[str, tuple[str, ...]] = {
    "communicator_status": registry_schemas.STATUSES,
    "vetting_step": ("start_review", "approve", "reject", "suspend", "reinstate"),
    "tier": stipends_schemas.TIERS,
    "role": schemas.STAFF_ROLES,
    "provider": schemas.PROVIDER_NAMES + pages.PROVIDERS,
    "difference_kind": schemas.DISCREPANCY_KINDS,
    "difference_state": schemas.RECONCILIATION_ITEM_STATES,
    "audience": stipends_schemas.AUDIENCES + pages.REPORT_CHOICES["audiences"],
    "report_channel": stipends_schemas.CHANNELS + pages.REPORT_CHOICES["channels"],
    "observed_change": stipends_schemas.CHANGES + pages.REPORT_CHOICES["changes"],
    "run_status": payout_models.RUN_STATUSES,
    "payout_status": payout_models.PAYOUT_STATUSES,
    "failure_reason": payout_events.FAILURE_REASONS,
    "payout_action": ("retry", "cancel", "mark_paid_offline", "mark_failed"),
    "difference_action": ("link", "write_off", "repay"),
    "report_decision": ("accepted", "rejected", "changes_requested"),
    "review_outcome": ("same_person", "distinct"),
    "vouch_state": registry_models.VOUCH_STATES + schemas.VOUCH_STATES,
    "staff_state": ("invited", "enrolling", "active", "disabled"),
    "reconciliation_source": ("api", "itemized_csv", "bank_statement"),
    "redaction_kind": REDACTION_KINDS,
    "provider_event_type": TRANSFER_EVENTS,
    # every message notifications sends (the access log and the delivery lists
    # name them)
    "notification": tuple(
        sorted(
            path.stem
            for path in (NOTIFICATIONS / "templates").glob("*.txt")
            if not path.stem.startswith("_")
        )
    ),
}


@pytest.mark.parametrize("kind", sorted(ENUMS))
def test_every_code_of_every_enum_has_a_label(kind: str) -> None:
    for code in ENUMS[kind]:
        assert code in i18n.LABELS[kind], f"{kind}: {code} has no label"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_label_is_translated(language: str) -> None:
    messages = catalogue(language)
    for kind, codes in i18n.LABELS.items():
        for code, msgid in codes.items():
            assert messages[msgid].string, f"{language}: {kind}.{code}"  # type: ignore[attr-defined]
            assert i18n.label(language, kind, code) != code


def test_labels_speak_the_language() -> None:
    assert web.label("en", "payout_status", "paid") == "Paid"
    assert web.label("ru", "payout_status", "paid") == "Выплачена"
    assert web.label("en", "difference_kind", "unexpected_at_provider") == (
        "Unexpected at the provider"
    )


def test_an_unknown_code_shows_as_words() -> None:
    assert web.label("ru", "payout_status", "on_hold") == "On hold"
    assert web.label("en", "no_such_kind", "x") == "X"
    assert web.label("en", "tier", None) == "—"
    env = web.environment("ru")
    rendered = env.from_string('{{ s|label("stipend_status") }}').render(s="frozen")
    assert rendered == "Frozen"


# -- refusals --------------------------------------------------------------------------
CONSOLE_CODES = (
    "dated_before_made",
    "reversed_dates",
    "row_outside_period",
    "segregation",
    "own_stipend",
    "own_proposal",
    "own_application",
    "releaser_approved",
    "no_bank_transfers",
    "run_not_released",
    "nothing_ticked",
    "payee_changed",
    "totals_mismatch",
    "concurrent_change",
    "over_budget",
    "cycle_open",
    "cycle_locked",
    "reports_awaiting_review",
    "stipends_pending",
    "items_open",
    "reconciliation_signed_off",
    "reconciliation_overlaps",
    "booked_before_made",
    "content_not_expected",
    "period_not_over",
    "run_before_period_end",
    "period_not_begun",
    "training_not_held",
    "deadline_before_period",
    "deadline_too_late",
    "invalid_date",
    "amount_not_positive",
    "csrf",
    "sign_in_failed",
    "second_factor_failed",
    "not_found",
    "forbidden",
    "role_required",
    "run_not_found",
    "vouch_not_found",
    "vouch_not_pending",
    "application_decided",
    "voucher_not_active",
    "no_answer",
)


@pytest.mark.parametrize("code", CONSOLE_CODES)
def test_the_refusals_the_consoles_meet_are_translated(code: str) -> None:
    english = web.refusal("en", code, "the service's words")
    russian = web.refusal("ru", code, "the service's words")
    assert english != "the service's words" and CYRILLIC.search(russian)
    assert english.rstrip().endswith(".") and len(english.split(". ")) >= 1


def test_a_refusal_says_what_to_do_next() -> None:
    assert "Reload the page" in web.refusal("en", "payee_changed", "")
    assert "Обновите страницу" in web.refusal("ru", "payee_changed", "")
    assert "colleague" in web.refusal("en", "segregation", "")


def test_a_state_code_names_the_record_and_its_state() -> None:
    said = web.refusal("ru", "report_accepted", "a report that is accepted …")
    assert "отчёт" in said and "«Принят»" in said
    said = web.refusal("en", "run_released", "the run is released")
    assert "payout run" in said and "“Released”" in said


def test_an_unknown_code_falls_back_to_the_service_message() -> None:
    assert web.refusal("ru", "brand_new_code", "the words") == "the words"
    assert web.refusal("ru", "", "the words") == "the words"
    assert web.refusal("ru", "run_exploded", "the words") == "the words"


def test_a_refusal_passed_to_a_page_is_translated() -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from svyaz.errors import Conflict

    request = Request(EnvironBuilder(path="/x?lang=ru").get_environ())
    refused = Conflict(
        "the control totals confirmed are not the run's", "totals_mismatch"
    )
    response = web.render(request, "message.html", message=refused, csrf="c")
    body = response.get_data(as_text=True)
    assert "Контрольные суммы изменились" in body and "control totals" not in body


# -- buttons ---------------------------------------------------------------------------
VAGUE = {"Do it", "Send", "Submit", "Save", "OK", "Go", "Apply", "Yes", "More"}


def test_no_button_says_something_vague() -> None:
    for path in TEMPLATES.glob("*.html"):
        for text in re.findall(
            r"<button[^>]*>\s*\{\{ _\(\"([^\"]+)\"\) \}\}", path.read_text()
        ):
            assert text not in VAGUE, f"{path.name}: button {text!r}"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_template_compiles(language: str) -> None:
    env = web.environment(language)
    for path in TEMPLATES.glob("*.html"):
        env.get_template(path.name)


def test_every_trail_has_its_words_in_one_table() -> None:
    """The stipend and report trails (stipends) and a communicator record's trail
    (registry) share the `activity_action` labels: neither table replaces the other."""
    for code in ("drafted", "amended", "applied", "training_completed"):
        assert code in i18n.LABELS["activity_action"], code
        assert i18n.label("ru", "activity_action", code) != i18n.label(
            "en", "activity_action", code
        )


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_country_lists_hold_countries_only(language: str) -> None:
    """Groupings and placeholders the locale also names with two letters (the
    European Union, the United Nations, "Unknown Region", pseudo-locales) are no
    place anyone lives; the registry refuses them."""
    codes = {code for code, _ in i18n.countries(language)}
    assert {"RU", "GE", "DE", "AM", "KZ", "RS"} <= codes
    assert not codes & {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"}
    assert len(codes) > 240


def test_why_a_stipend_is_due_is_said_in_the_reader_s_language() -> None:
    """Every sentence stipends writes (stipends.logic.entitlement.assess) has its
    words in each language: none is left in English on a Russian page."""
    from types import SimpleNamespace

    from stipends.logic.entitlement import assess

    programme = SimpleNamespace(
        tier_amounts={"professional": 15_000, "volunteer": 0},
        currency="EUR",
        training_required=True,
        min_conversations=2,
        min_accepted_reports=1,
    )
    report = SimpleNamespace(status="accepted", conversations=3, late=True)
    due = SimpleNamespace(
        status="active",
        payout_ready=True,
        destination_fingerprint="ab",
        tier="professional",
        training_completed=True,
    )
    not_due = SimpleNamespace(
        status="suspended",
        payout_ready=False,
        destination_fingerprint=None,
        tier="volunteer",
        training_completed=False,
    )
    sentences = assess(programme, due, [report]).reasons  # type: ignore[arg-type]
    sentences += assess(programme, not_due, []).reasons  # type: ignore[arg-type]
    assert len(sentences) == 11
    for sentence in sentences:
        russian = i18n.entitlement_reason("ru", sentence)
        assert CYRILLIC.search(russian), sentence
        assert not re.search(r"[a-z]{3,}|EUR", russian), russian  # money as written
    assert i18n.entitlement_reason("ru", "not eligible: training not completed") == (
        "права на выплату нет: семинар не пройден"
    )
    assert i18n.entitlement_reason("en", "tier professional: 150.00 EUR") == (
        "tier “Professional”: €150.00"
    )
    assert i18n.entitlement_reason("ru", "tier professional: 150.00 EUR") == (
        "уровень «Профессионал»: 150,00\xa0€"
    )
    assert i18n.entitlement_reason("ru", "something new") == "something new"
    # a programme that asks for no least number of conversations says none
    said = "1 accepted report(s) with at least 0 conversation(s); 1 needed"
    assert i18n.entitlement_reason("en", said) == "accepted reports: 1, 1 needed"
    assert i18n.entitlement_reason("ru", said) == "принятых отчётов: 1, нужно 1"


def test_the_marks_of_removed_contacts_are_in_the_reader_s_language() -> None:
    """Every mark stipends leaves where it removed a contact or a link has its
    words; the person's own words stay as they wrote them."""
    from stipends.logic.redaction import MARKERS

    assert set(MARKERS.values()) == set(i18n.REDACTION_MARKERS)
    text = "Uncle [phone removed] wrote from [email removed]; see [link removed]."
    assert i18n.redactions("ru", text) == (
        "Uncle [телефон удалён] wrote from [почта удалена]; see [ссылка удалена]."
    )
    assert i18n.redactions("en", text) == text
    # a form shows them in its reader's language and sends them back as stored
    assert i18n.stored_markers(i18n.redactions("ru", text)) == text
    assert i18n.stored_markers(text) == text
    from werkzeug.datastructures import MultiDict

    from gateway import pages

    shown = pages.report_values({"narrative": text, "strategy_note": text}, "ru")
    assert "[телефон удалён]" in shown["narrative"] and "[" in shown["strategy_note"]
    sent = pages.report_from_form(
        MultiDict({"narrative": shown["narrative"], "strategy_note": "[почта удалена]"})
    )
    assert (sent["narrative"], sent["strategy_note"]) == (text, "[email removed]")


def test_a_saved_reports_notice_is_in_the_api_readers_language() -> None:
    """Through the API, what was removed from a saved report is said in the
    reader's language, by kind, as the console says it; an answer with nothing
    removed is passed on as it came."""
    from types import SimpleNamespace

    from gateway.api.reports import spoken

    saved = {"report": {}, "redacted": ["phone", "email"], "notice": "in English"}
    russian = SimpleNamespace(lang="ru", texts=web.texts("ru"))
    said = spoken(russian, saved)["notice"]  # type: ignore[arg-type]
    assert said.startswith("Контакты и ссылки удалены из вашего отчёта")
    assert "(номер телефона, адрес почты)" in said
    english = SimpleNamespace(lang="en", texts=web.texts("en"))
    assert "(phone number, email address)" in spoken(english, saved)["notice"]  # type: ignore[arg-type]
    clean = {"report": {}, "redacted": [], "notice": None}
    assert spoken(russian, clean) is clean  # type: ignore[arg-type]


def test_the_registrys_password_rule_is_said_in_the_form_s_language() -> None:
    """The registry's one password rule (registry.logic.passwords), next to the
    field in words of the reader's language."""
    said = passwords.LENGTH_RULE
    assert i18n.field_fault("ru", [said]) == "Укажите от 12 до 200 символов."
    assert i18n.field_fault("en", [said]) == "Give 12 to 200 characters."
    assert schemas.base.PASSWORD == passwords.MAX_LENGTH
    assert schemas.base.PASSWORD_MIN == passwords.MIN_LENGTH


def test_why_data_was_read_is_said_in_words() -> None:
    """The access log's purposes: a service's fixed ones by their labels, a
    notification by the message it sent, a person's own words as written."""
    assert i18n.read_purpose("ru", "notification:report_accepted") == (
        "отправка сообщения «Отчёт принят»"
    )
    assert i18n.read_purpose("ru", "payout routing") == "выбор способа выплаты (страна)"
    typed = "called back about the duplicate"
    assert i18n.read_purpose("ru", typed) == typed


def test_a_country_is_shown_by_its_name_in_the_page_s_language() -> None:
    page = web.environment("ru").from_string("{{ 'GE'|country }} · {{ none|country }}")
    assert page.render(none=None) == "Грузия · —"
    assert i18n.country("en", "DE") == "Germany"


def test_impact_tables_without_a_grouping_name_their_rows_in_words() -> None:
    """The payouts' and the differences' tables are not grouped by a dimension:
    their rows are outcomes and kinds, in words, never codes."""

    def table(name: str, rows: list[str]) -> dict:
        return {
            "name": name,
            "rows": rows,
            "columns": ["count"],
            "cells": [[1] for _ in rows],
            "row_totals": [1 for _ in rows],
            "column_totals": [len(rows)],
            "total": len(rows),
            "hidden": 0,
        }

    view = {
        "tables": [table("differences", ["unexpected_at_provider"])],
        "dimension": "",
    }
    (figure,) = impact.decorate("en", view, {})
    assert [r["label"] for r in figure["rows"]] == ["Unexpected at the provider"]
    grouped = {"tables": [table("reports", ["GE"])], "dimension": "country"}
    (by_country,) = impact.decorate("ru", grouped, {})
    assert [r["label"] for r in by_country["rows"]] == ["Грузия"]


def test_a_number_with_two_bounds_is_said_with_both() -> None:
    """A report's hours above their maximum: the field names the range, not only
    the least (which told a person typing 99999 to give at least 0)."""
    from marshmallow import ValidationError, validate

    with pytest.raises(ValidationError) as refused:
        validate.Range(min=0, max=744)(99999)
    (said,) = refused.value.messages
    assert i18n.field_fault("en", [said]) == "Give a number from 0 to 744."
    assert i18n.field_fault("ru", [said]) == "Введите число от 0 до 744."
    with pytest.raises(ValidationError) as refused:
        validate.Range(min=3)(1)
    assert i18n.field_fault("en", refused.value.messages) == (
        "Give a number of at least 3."
    )


def test_a_files_refusal_names_the_line_it_stopped_at() -> None:
    """The console says which line of an uploaded report or statement could not
    be read, in its own words (the service's English detail is not shown)."""
    said = i18n.refusal(
        "ru",
        "invalid_file",
        "report line 2: amount -150.001: more decimals than EUR has",
    )
    assert said.startswith(i18n.refusal("ru", "invalid_file", ""))
    assert "строка 2 файла." in said and "more decimals" not in said
    # and what is wrong with it, in the reader's words
    assert said.endswith("В её сумме -150.001 больше знаков после точки, чем у EUR.")
    statement = i18n.refusal(
        "en",
        "invalid_statement",
        "statement line 7: status 'maybe' is not booked or returned; currency 'EU' "
        "is not a three-letter code",
    )
    assert "line 7 of the file" in statement
    assert statement.endswith("Its status “maybe” is neither booked nor returned.")
    positive = i18n.refusal(
        "en",
        "invalid_file",
        "report line 3: amount 150.00: a transfer is money out of the balance, "
        "negative; is this Stripe's itemized balance change report as it was "
        "downloaded?",
    )
    assert "150.00 is positive, but a transfer is money out" in positive
    header = i18n.refusal(
        "ru", "invalid_file", "the statement has no column reference: its first line"
    )
    assert header.endswith("не хватает: reference. Табличная программа может "
                           "сохранить файл как CSV с запятыми.")  # fmt: skip
    # an amount that is no number, whole, in the reader's words only (an outside
    # reading found the service's English inside the Russian sentence)
    for language, words in (("en", "Its amount “1\"00” is not an amount"),
                            ("ru", "Её сумма «1\"00» — не сумма")):  # fmt: skip
        garbled = i18n.refusal(
            language,
            "invalid_statement",
            "statement line 2: amount '1\"00' is not an amount: write digits, with "
            "a point or a comma before the decimals (EUR has 2 decimals)",
        )
        assert words in garbled and "write digits, with a point or a" not in garbled
        if language == "ru":
            assert "is not" not in garbled
    # a statement's negative line, met by a reconciliation: why, and what to do
    negative = i18n.refusal(
        "en",
        "invalid_file",
        "statement line 3: amount -900.00: negative, not a payout's line: "
        "reconcile the payouts' lines (positive amounts) only",
    )
    assert "line 3 of the file" in negative
    assert negative.endswith("remove the others from the file.")
    # a fault it does not know: no English detail, the refusal as it was
    unknown = i18n.refusal("ru", "invalid_file", "report line 4: something new")
    assert "something" not in unknown and unknown.endswith("строка 4 файла.")
    # a line read but not of the period: which one, without the payout's id
    booked = i18n.refusal(
        "ru", "booked_before_made", "statement line 3 books payout 9209af32-..."
    )
    assert booked.endswith("Это строка 3 файла.") and "9209" not in booked
    # a refusal without a line, or of another kind, is as before
    assert "line" not in i18n.refusal("en", "invalid_file", "not a CSV file")
    assert "12" not in i18n.refusal("en", "invalid_amount", "line 12")


def test_a_period_reads_to_its_last_day() -> None:
    """Stored [start, end): the pages name the last day, so that «с 1 по 7»
    (and "1 to 7") takes in exactly the days reconciled."""
    env = web.environment("ru")
    assert env.from_string("{{ e|last_day }}").render(e="2026-12-08") == "2026-12-07"
    assert web.last_day("2027-01-01") == "2026-12-31"


def test_dates_read_as_the_page_language_writes_them() -> None:
    """The services speak ISO 8601; a page says a date in its language (the
    rules are svyaz.dates', tested there), a moment with its time in UTC."""
    assert i18n.day("en", "2026-12-08") == "Dec 8, 2026"
    assert i18n.day("ru", "2026-12-08") == "8 дек. 2026\u202fг."
    at = "2026-12-08T14:05:33+00:00"
    assert i18n.moment("en", at, seconds=True) == "Dec 8, 2026, 14:05:33 UTC"
    assert i18n.moment("ru-RU", at) == "8 дек. 2026\u202fг., 14:05 UTC"


def test_templates_show_no_iso_dates() -> None:
    """Every date on a page goes through `day` or `moment` (or `last_day|day`):
    no template slices an ISO text ([:10], [:16], [11:16]) any more."""
    sliced = re.compile(r"\[(?:\d+)?:(?:10|16|19)\]")
    found = [
        f"{path.name}: {line.strip()[:80]}"
        for path in (Path(web.__file__).parent / "templates").glob("*.html")
        for line in path.read_text().splitlines()
        if sliced.search(line)
    ]
    assert not found, found


def test_the_date_filters_speak_the_page_language() -> None:
    env = web.environment("ru")
    shown = env.from_string("{{ a|day }} · {{ b|moment }} · {{ e|last_day|day }}")
    assert shown.render(
        a="2026-11-20", b="2026-12-08T09:00:00+00:00", e="2027-01-01"
    ) == (
        "20 нояб. 2026\u202fг. · 8 дек. 2026\u202fг., 09:00 UTC · 31 дек. 2026\u202fг."
    )


@pytest.mark.parametrize("bound", ["after", "before"])
def test_a_day_a_field_must_keep_to_is_written_as_people_read_days(bound: str) -> None:
    """stipends bounds a cycle's deadline with an ISO day ("on or after
    2026-12-01"); the form says it as its pages write days."""
    said = i18n.field_fault("en", [f"on or {bound} 2026-12-01"])
    assert said == f"Give a day on or {bound} {written_day('2026-12-01', 'en')}."
    russian = i18n.field_fault("ru", [f"on or {bound} 2026-12-01"])
    assert written_day("2026-12-01", "ru") in russian and "2026-12-01" not in russian
