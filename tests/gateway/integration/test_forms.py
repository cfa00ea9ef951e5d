"""Forms that help, on every console form (gateway/forms.py): the test opens each
role's pages, takes every form on them, checks that its required fields are marked,
sends it empty (hidden fields and the first button kept), and checks the answer:
each field's message sits next to its field and is tied to it (`aria-describedby`,
`aria-invalid`), in the page's language, and nothing typed in a password comes back.
Then one form sent with a bad value keeps what was typed. Real registry, stipends
and gateway."""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import requests

from tests.conftest import ROOT
from tests.gateway.conftest import Stipends, funded_programme, ready_payee
from tests.gateway.integration.test_console import (
    PASSWORD,
    csrf,
    sign_in,
    signed_in_staff,
)
from tests.registry.integration.conftest import ADMIN_A, Registry, application

ARTIFACTS = ROOT / "artifacts" / "gateway"
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
CONTROL = re.compile(r"<(input|select|textarea|button)\b([^>]*)>", re.S)
ATTR = re.compile(r'([\w:-]+)(?:="([^"]*)")?')
LABEL = re.compile(r"<label\b[^>]*>(.*?)</label>", re.S)
FIELD_ERROR = re.compile(r'<p class="field-error" id="error-([\w.-]+)">([^<]*)</p>')
# forms that end the session, erase, build or close things, or need a live
# second factor: sending them empty is not what this test is about
LEFT_ALONE = re.compile(
    r"^/(sign-out|me/erase|me/payout-setup|me/security|admin/staff/|"
    r"admin/second-factor-resets/|finance/cycles/.*/runs|admin/cycles/.*/(close|lock)"
    r"|leave)"
)


def attributes(text: str) -> dict[str, str]:
    return {m.group(1): unescape(m.group(2) or "") for m in ATTR.finditer(text)}


@dataclass
class Walk:
    """What the walk saw: forms sent, and the fields whose messages came back."""

    sent: list[str] = field(default_factory=list)
    tied: dict[str, list[str]] = field(default_factory=dict)


def check_required_marked(page: str, where: str) -> None:
    """Each required control wrapped in a label has a `*` in that label, and each
    form with one says what the `*` means."""
    for form in FORM.finditer(page):
        body = form.group(2)
        marked = False
        for label in LABEL.finditer(body):
            for _, raw in CONTROL.findall(label.group(1)):
                attrs = attributes(raw)
                if "required" in attrs:
                    assert 'class="req"' in label.group(1), f"{where}: {label.group(0)}"
                    marked = True
        if marked:
            assert "*" in re.sub(r"<[^>]+>", "", body.split("<label", 1)[0]) or (
                'class="hint' in page
            ), f"{where}: no note on what * means"


def check_tied(page: str, where: str) -> list[str]:
    """Every field message is tied to a control of that name; (the names)."""
    names = []
    for name, message in FIELD_ERROR.findall(page):
        controls = [
            attributes(raw)
            for _, raw in CONTROL.findall(page)
            if attributes(raw).get("name") == name
            and f"error-{name}" in attributes(raw).get("aria-describedby", "").split()
        ]
        assert controls, f"{where}: the message for {name} is tied to no field"
        assert all(c.get("aria-invalid") == "true" for c in controls), where
        assert message.strip(), f"{where}: an empty message for {name}"
        names.append(name)
    return names


def send_empty(browser: requests.Session, url: str, page: str, walk: Walk) -> None:
    for form in FORM.finditer(page):
        opening, body = attributes(form.group(1)), form.group(2)
        action = opening.get("action", "")
        if opening.get("method", "get").lower() != "post" or LEFT_ALONE.match(action):
            continue
        data: dict[str, str] = {}
        button = None
        for tag, raw in CONTROL.findall(body):
            attrs = attributes(raw)
            name = attrs.get("name")
            if tag == "button" or attrs.get("type") == "submit":
                if button is None and name:
                    button = (name, attrs.get("value", ""))
                continue
            if not name:
                continue
            if attrs.get("type") == "hidden":
                data[name] = attrs.get("value", "")
            elif attrs.get("type") not in ("checkbox", "radio", "file"):
                data[name] = ""
        if button:
            data[button[0]] = button[1]
        answer = browser.post(
            url.split("/", 3)[0] + "//" + url.split("/")[2] + action,
            data=data,
            timeout=30,
        )
        where = f"{action} (from {url.split('/', 3)[-1]})"
        assert answer.status_code < 500, f"{where}: {answer.status_code}"
        walk.sent.append(where)
        tied = check_tied(answer.text, where)
        if tied:
            walk.tied[where] = tied
        assert 'type="password" value="x' not in answer.text


def walk_pages(
    browser: requests.Session, base: str, paths: list[str], walk: Walk
) -> None:
    for path in paths:
        page = browser.get(f"{base}{path}", timeout=30)
        assert page.status_code == 200, f"{path}: {page.status_code}"
        check_required_marked(page.text, path)
        send_empty(browser, f"{base}{path}", page.text, walk)


def test_every_console_form_ties_its_errors_to_its_fields(
    system: Registry, stipends: Stipends, notifications: Any
) -> None:
    data = application(password=PASSWORD, country="DE", city="Halle")
    ready_payee(system, stipends, data)
    applicant = system.applicant()
    programme = funded_programme(stipends, 100_000, 25_000)
    deadline = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme, "2026-11", deadline)["id"]
    walk = Walk()

    admin, _, _ = signed_in_staff(system, "forms.admin@example.org", ["program_admin"])
    walk_pages(
        admin,
        system.url,
        [
            "/admin/applications",
            f"/admin/applications/{applicant}",
            "/admin/communicators",
            "/admin/clubs",
            "/admin/staff",
            "/admin/programmes",
            f"/admin/programmes/{programme}",
            f"/admin/cycles/{cycle}",
            "/admin/reports",
            f"/admin/stipends?cycle={cycle}",
            "/admin/corridors",
            "/admin/oversight",
            "/me/preferences",
        ],
        walk,
    )
    finance, _, _ = signed_in_staff(system, "forms.money@example.org", ["finance"])
    walk_pages(
        finance,
        system.url,
        ["/finance", "/finance/reconciliations", "/finance/bank-statements"],
        walk,
    )
    communicator, _ = sign_in(system, data["email"])
    walk_pages(
        communicator,
        system.url,
        ["/me", "/me/report", "/me/vouches", "/me/preferences"],
        walk,
    )
    walk_pages(requests.Session(), system.url, ["/apply", "/forgot-password"], walk)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "forms-walk.json").write_text(
        json.dumps({"sent": walk.sent, "tied": walk.tied}, indent=1)
    )
    assert len(walk.sent) >= 20, walk.sent
    # the forms whose empty sending the services refuse field by field
    assert len(walk.tied) >= 5, walk.tied
    for form in (
        "/admin/applications/",
        "/admin/clubs",
        "/admin/programmes ",
        "/me/report",
        "/me/preferences",
        "/finance/reconciliations",
        "/apply",
    ):
        assert any(where.startswith(form) for where in walk.tied), form


def test_a_refused_form_keeps_what_was_typed_in_the_readers_language(
    system: Registry, stipends: Stipends
) -> None:
    admin, _, _ = signed_in_staff(system, "typed@example.org", ["program_admin"])
    page = admin.get(f"{system.url}/admin/programmes?lang=ru", timeout=30).text
    assert '<p class="hint required-note">Поля, отмеченные *, обязательны.</p>' in page
    answer = admin.post(
        f"{system.url}/admin/programmes",
        timeout=30,
        data={
            "csrf": csrf(page),
            "name": "Весна у Каспия",
            "currency": "KZT",
            "tier_volunteer": "0",
            "tier_professional": "250.555",  # KZT has two decimals
            "min_accepted_reports": "two",  # not a whole number
            "min_conversations": "1",
            "band_up_to_1": "много",  # not an amount
            "band_approvers_1": "1",
            "band_approvers_2": "2",
        },
    )
    assert answer.status_code == 400
    assert re.search(r'<input name="name"[^>]* value="Весна у Каспия"', answer.text)
    assert re.search(r'name="min_accepted_reports"[^>]* value="two"', answer.text)
    assert re.search(
        r'name="min_accepted_reports"[^>]*aria-invalid="true" '
        r'aria-describedby="error-min_accepted_reports"',
        answer.text,
    )
    (message,) = re.findall(
        r'<p class="field-error" id="error-min_accepted_reports">([^<]+)</p>',
        answer.text,
    )
    assert message == "Введите целое число."
    # every field that cannot be read is named at once, each saying what to write
    faults = r'<p class="field-error" id="error-(\w+)">([^<]+)</p>'
    said = dict(re.findall(faults, answer.text))
    assert said == {
        "min_accepted_reports": "Введите целое число.",
        "tier_professional": "Впишите не больше 2 цифр после точки.",
        "band_up_to_1": "Впишите сумму, например 250 или 250.50.",
    }
    assert re.search(r'name="band_up_to_1"[^>]* value="много"', answer.text)
    assert 'value="KZT" selected' in answer.text
    assert 'value="EUR" selected' not in answer.text
