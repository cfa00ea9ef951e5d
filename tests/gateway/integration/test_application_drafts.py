"""An applicant's draft on the real gateway and database: *Save the draft* (no
JavaScript) stores only ciphertext under a key that lives in the applicant's cookie;
the same browser finds the form as it left it, another does not; sending the
application, *Delete the draft* and the quick exit delete it; the timer deletes one
that ran out; neither the key nor what was typed reaches a log."""

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from gateway import drafts
from tests.gateway.conftest import start_gateway
from tests.gateway.integration.test_console import PASSWORD, csrf
from tests.helpers import wait_until, written_day
from tests.registry.integration.conftest import Registry, application


@pytest.fixture
def started(database: Any, service_config: Any, container_factory: Any) -> Any:
    return start_gateway(
        database, service_config, container_factory, APPLY_DRAFT_PURGE_INTERVAL=0.2
    )


@pytest.fixture
def gateway_url(started: tuple[str, str]) -> str:
    return started[0]  # the `system` fixture's gateway, its database known here


@pytest.fixture
def gateway_db(started: tuple[str, str]) -> Any:
    engine = create_engine(started[1])
    yield engine
    engine.dispose()


def rows(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(text("SELECT key, sealed, expires_at FROM application_drafts"))
        )


def form_of(data: dict[str, Any], token: str, action: str | None) -> dict[str, Any]:
    body = {
        **{k: v for k, v in data.items() if isinstance(v, str)},
        "languages": ["ru", "ka"],
        "csrf": token,
        "password": PASSWORD,
    }
    if action:
        body["action"] = action
    else:
        body["consent"] = "yes"
    return body


def save(system: Registry, data: dict[str, Any]) -> tuple[requests.Session, Any]:
    browser = requests.Session()
    page = browser.get(f"{system.url}/apply?lang=en", timeout=30)
    assert 'formaction="/apply/draft"' in page.text  # the button's own address
    saved = browser.post(
        f"{system.url}/apply/draft",
        data=form_of(data, csrf(page.text), "save_draft"),
        timeout=30,
    )
    return browser, saved


def test_a_saved_draft_is_ciphertext_that_only_its_browser_opens(
    system: Registry, gateway_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data = application(legal_name="Ольга Сергеевна Петрова", city="Кутаиси")
    browser, saved = save(system, data)
    assert saved.status_code == 200
    assert 'data-draft="saved"' in saved.text

    # the cookie: HttpOnly, SameSite=Strict, only for /apply, runs out with the row
    (header,) = [
        h
        for h in saved.raw.headers.getlist("Set-Cookie")
        if h.startswith(f"{drafts.COOKIE}=")
    ]
    assert "HttpOnly" in header and "SameSite=Strict" in header
    assert "Path=/apply;" in header + ";" and f"Max-Age={72 * 3600}" in header
    value = browser.cookies.get(drafts.COOKIE, path="/apply")
    handle = drafts.Handle.parse(value)
    assert handle is not None

    # the row: under a hash of the id, the draft sealed; nothing typed in clear
    ((key, sealed, expires_at),) = rows(gateway_db)
    assert key == handle.row_key
    timedelta_left = expires_at - datetime.now(UTC)
    assert timedelta(hours=71) < timedelta_left <= timedelta(hours=72)
    # the notice says until when, as the pages write moments ("Dec 11, 2026, 04:10 UTC")
    until = f"{written_day(expires_at)}, {expires_at.astimezone(UTC):%H:%M} UTC"
    assert f"is saved until {until}," in saved.text
    with gateway_db.connect() as conn:
        whole = str(
            conn.execute(text("SELECT row_to_json(d)::text FROM application_drafts d"))
            .scalars()
            .one()
        ).lower()
    for typed in (
        data["email"],
        data["email"].split("@")[0],
        data["pseudonym"],
        "ольга",
        "петрова",
        "кутаиси",
        "samara",
        PASSWORD,
        "horse",
    ):
        assert typed.lower() not in whole, typed
    assert value.split(".")[1].lower() not in whole  # nor the key
    assert drafts.unseal(handle, sealed)["email"] == data["email"]
    assert "password" not in drafts.unseal(handle, sealed)

    # the same browser, another day: the form as it was left, the password not
    back = requests.Session()
    back.cookies.set(drafts.COOKIE, value, path="/apply")
    page = back.get(f"{system.url}/apply?lang=en", timeout=30).text
    assert 'data-draft="restored"' in page
    assert f'value="{data["email"]}"' in page
    assert f'value="{data["pseudonym"]}"' in page
    assert "Ольга Сергеевна Петрова" in page
    assert f"{data['motivation']}</textarea>" in page
    assert re.search(r'<option value="GE"[^>]*selected', page)
    assert re.search(r'<option value="ka"[^>]*selected', page)
    assert PASSWORD not in page
    assert re.search(r'name="password"[^>]*value=""', page)

    # another browser finds nothing; the right id with another key neither, and
    # its cookie is cleared
    stranger = requests.get(f"{system.url}/apply?lang=en", timeout=30).text
    assert data["email"] not in stranger and "data-draft" not in stranger
    forged = drafts.Handle(handle.draft_id, drafts.Handle.new().key)
    guess = requests.Session()
    guess.cookies.set(drafts.COOKIE, forged.cookie, path="/apply")
    answer = guess.get(f"{system.url}/apply?lang=en", timeout=30)
    assert data["email"] not in answer.text and "data-draft" not in answer.text
    (cleared,) = [
        h
        for h in answer.raw.headers.getlist("Set-Cookie")
        if h.startswith(f"{drafts.COOKIE}=")
    ]
    assert "Max-Age=0" in cleared and "Path=/apply" in cleared
    assert len(rows(gateway_db)) == 1  # a wrong key deletes nothing either

    # nothing typed, nor the key, reached a log record
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records).lower()
    for secret in (value.split(".")[1], data["email"], "петрова", PASSWORD):
        assert secret.lower() not in logged


def test_sending_the_application_deletes_the_draft(
    system: Registry, gateway_db: Any
) -> None:
    data = application()
    browser, _ = save(system, data)
    assert len(rows(gateway_db)) == 1
    page = browser.get(f"{system.url}/apply?lang=en", timeout=30)
    sent = browser.post(
        f"{system.url}/apply", data=form_of(data, csrf(page.text), None), timeout=30
    )
    assert sent.status_code == 200 and "Your application was received" in sent.text
    assert rows(gateway_db) == []
    assert system.sql("SELECT count(*) FROM communicators")[0][0] == 1
    assert drafts.COOKIE not in browser.cookies  # the browser was told to forget it
    again = browser.get(f"{system.url}/apply?lang=en", timeout=30).text
    assert data["email"] not in again


def test_a_refused_application_keeps_the_draft(
    system: Registry, gateway_db: Any
) -> None:
    data = application()
    browser, _ = save(system, data)
    page = browser.get(f"{system.url}/apply?lang=en", timeout=30)
    refused = browser.post(
        f"{system.url}/apply",
        data={**form_of(data, csrf(page.text), None), "email": "not-an-email"},
        timeout=30,
    )
    assert refused.status_code == 400
    assert len(rows(gateway_db)) == 1


def test_deleting_the_draft_and_the_quick_exit_delete_it(
    system: Registry, gateway_db: Any
) -> None:
    data = application()
    browser, saved = save(system, data)
    deleted = browser.post(
        f"{system.url}/apply/draft",
        data={"csrf": csrf(saved.text), "action": "delete_draft"},
        timeout=30,
    )
    assert 'data-draft="deleted"' in deleted.text
    assert data["email"] not in deleted.text  # the form is drawn empty
    assert rows(gateway_db) == []
    assert drafts.COOKIE not in browser.cookies

    browser, _ = save(system, application())
    assert len(rows(gateway_db)) == 1
    page = browser.get(f"{system.url}/apply", timeout=30).text
    assert 'id="quick-exit" href="/apply/leave"' in page
    left = browser.get(f"{system.url}/apply/leave", timeout=30, allow_redirects=False)
    assert left.status_code == 303 and "wikipedia" in left.headers["Location"]
    assert "cookies" in left.headers["Clear-Site-Data"]
    assert rows(gateway_db) == []


def test_saving_again_replaces_the_draft_under_the_same_cookie(
    system: Registry, gateway_db: Any
) -> None:
    data = application()
    browser, saved = save(system, data)
    first = browser.cookies.get(drafts.COOKIE, path="/apply")
    browser.post(
        f"{system.url}/apply/draft",
        data={**form_of(data, csrf(saved.text), "save_draft"), "city": "Batumi"},
        timeout=30,
    )
    assert browser.cookies.get(drafts.COOKIE, path="/apply") == first
    handle = drafts.Handle.parse(first)
    assert handle is not None
    ((_, sealed, _),) = rows(gateway_db)
    assert drafts.unseal(handle, sealed)["city"] == "Batumi"


def test_saving_often_never_uses_up_the_attempts_of_sending(
    system: Registry, gateway_db: Any
) -> None:
    """Saves count in buckets of their own: more saves than the account may send
    applications in a window (THROTTLE_PER_ACCOUNT, 10), and the application still
    goes."""
    data = application()
    browser, saved = save(system, data)
    for _ in range(11):
        saved = browser.post(
            f"{system.url}/apply/draft",
            data=form_of(data, csrf(saved.text), "save_draft"),
            timeout=30,
        )
        assert saved.status_code == 200 and 'data-draft="saved"' in saved.text
    sent = browser.post(
        f"{system.url}/apply", data=form_of(data, csrf(saved.text), None), timeout=30
    )
    assert sent.status_code == 200, sent.text[-500:]
    assert rows(gateway_db) == []  # sent: the draft is gone


def test_a_page_drawn_before_the_draft_route_still_saves_at_apply(
    system: Registry, gateway_db: Any
) -> None:
    """A form drawn before its buttons posted to /apply/draft sends its draft
    actions to /apply: they still save and delete the draft there."""
    data = application()
    browser = requests.Session()
    page = browser.get(f"{system.url}/apply?lang=en", timeout=30)
    saved = browser.post(
        f"{system.url}/apply",
        data=form_of(data, csrf(page.text), "save_draft"),
        timeout=30,
    )
    assert saved.status_code == 200 and 'data-draft="saved"' in saved.text
    assert len(rows(gateway_db)) == 1
    deleted = browser.post(
        f"{system.url}/apply",
        data={"csrf": csrf(saved.text), "action": "delete_draft"},
        timeout=30,
    )
    assert 'data-draft="deleted"' in deleted.text
    assert rows(gateway_db) == []


def test_a_draft_that_ran_out_is_not_shown_and_the_timer_deletes_it(
    system: Registry, gateway_db: Any
) -> None:
    browser, _ = save(system, application())
    live = drafts.Handle.new()
    with gateway_db.begin() as conn:
        conn.execute(
            text("UPDATE application_drafts SET expires_at = now() - interval '1 s'")
        )
        conn.execute(
            text(
                "INSERT INTO application_drafts (key, sealed, expires_at)"
                " VALUES (:key, 'x', now() + interval '1 hour')"
            ),
            {"key": live.row_key},
        )
    wait_until(
        lambda: [r[0] for r in rows(gateway_db)] == [live.row_key],
        "the draft that ran out deleted by the timer",
        10,
    )
    page = browser.get(f"{system.url}/apply?lang=en", timeout=30).text
    assert "data-draft" not in page
