"""Idempotent requests through the gateway, on the running system: the API's
`Idempotency-Key` sent twice answers the same and acts once (with another body:
409), and a console form sent twice (a double click, a resubmitted page) does one
thing and shows the first result."""

import re
import uuid
from typing import Any

import requests

from tests.gateway.integration.test_api import staff
from tests.gateway.integration.test_console import csrf, signed_in_admin
from tests.registry.integration.conftest import Registry


def clubs_named(system: Registry, name: str) -> int:
    rows = system.sql("SELECT count(*) FROM clubs WHERE name = :n", n=name)
    return int(rows[0][0])


def post(client: Any, path: str, body: Any, key: str | None) -> requests.Response:
    headers = {"X-CSRF-Token": client.csrf}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.http.post(client.url + path, json=body, headers=headers, timeout=30)


def test_the_same_idempotency_key_twice_answers_the_same_and_acts_once(
    system: Registry,
) -> None:
    admin = staff(system, ["program_admin"])
    name = f"Club {uuid.uuid4().hex[:8]}"
    club = {"name": name, "country": "GE", "mode": "online"}
    key = str(uuid.uuid4())
    first = post(admin, "/api/v1/clubs", club, key)
    assert first.status_code == 201, first.text
    again = post(admin, "/api/v1/clubs", club, key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert clubs_named(system, name) == 1

    other = post(admin, "/api/v1/clubs", {**club, "name": name + " two"}, key)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert clubs_named(system, name + " two") == 0

    bad = post(admin, "/api/v1/clubs", club, "no spaces allowed")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_idempotency_key")

    # without a key, each request is its own: the repeat is carried out again
    # (here refused, since the first made the club)
    unkeyed = {**club, "name": name + " free"}
    assert post(admin, "/api/v1/clubs", unkeyed, None).status_code == 201
    repeat = post(admin, "/api/v1/clubs", unkeyed, None)
    assert repeat.status_code == 400 and "exists" in repeat.json()["detail"]
    assert clubs_named(system, name + " free") == 1


def form_of(page: str, action: str) -> str:
    found = re.search(
        rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>',
        page,
        re.S,
    )
    assert found, f"the page has a form to {action}"
    return found.group(1)


def key_in(form: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', form)
    assert found, "the form carries an idempotency key"
    return found.group(1)


def test_a_console_form_sent_twice_does_one_thing_and_shows_the_first_result(
    system: Registry,
) -> None:
    browser, _ = signed_in_admin(system, f"double.{uuid.uuid4().hex[:6]}@example.org")
    page = browser.get(f"{system.url}/admin/clubs?lang=en", timeout=30).text
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', page)
    assert len(keys) > 1 and len(set(keys)) == len(keys)  # one per form
    key = key_in(form_of(page, "/admin/clubs"))
    name = f"Double {uuid.uuid4().hex[:8]}"
    form = {
        "csrf": csrf(page),
        "idempotency_key": key,
        "name": name,
        "country": "GE",
        "city": "Tbilisi",
        "mode": "offline",
    }
    answers = [
        browser.post(f"{system.url}/admin/clubs?lang=en", data=form, timeout=30)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.url for a in answers] == [answers[0].url] * 2
    assert clubs_named(system, name) == 1
    assert name in answers[1].text
    # the page drawn again has new keys: a new form is a new request
    assert key not in answers[1].text

    changed = browser.post(
        f"{system.url}/admin/clubs?lang=en",
        data={**form, "name": name + " changed"},
        timeout=30,
    )
    assert changed.status_code == 409
    assert "Reload the page and send it again" in changed.text
    assert clubs_named(system, name + " changed") == 0
