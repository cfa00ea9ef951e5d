"""Throttling against the real parts: the buckets in the gateway's PostgreSQL
database, then a gateway (two, sharing the database) and a registry on RabbitMQ,
driven over HTTP as a client behind a proxy would (TRUSTED_PROXIES=1 and the
proxy's X-Forwarded-For), in the API and the consoles."""

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
import requests
from nameko.testing.services import replace_dependencies
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from gateway import throttles
from registry.service import RegistryService
from tests.conftest import service_config_file
from tests.gateway.conftest import start_gateway
from tests.gateway.integration.test_api import PASSWORD, Client
from tests.gateway.integration.test_console import csrf
from tests.helpers import next_code
from tests.registry.integration.conftest import (
    ADMIN_A,
    FakeConnect,
    Registry,
    application,
)

SECRET = b"s" * 32
SESSION = "/api/v1/session"
WRONG = "not the password at all"


# -- the buckets in PostgreSQL -----------------------------------------------------
@pytest.fixture
def engine(database: Any) -> Iterator[Any]:
    made = create_engine(database("gateway"))
    yield made
    made.dispose()


def attempt(
    engine: Any,
    limits: throttles.Limits,
    address: str,
    account: str | None = None,
    step_up: bool = False,
) -> throttles.Verdict:
    with Session(engine) as session, session.begin():
        return throttles.check(
            session, SECRET, "sign_in", limits, address, account, step_up
        )


def test_each_bucket_refuses_past_its_limit_with_the_time_left(engine: Any) -> None:
    limits = throttles.Limits(window=120, per_address=3, per_account=5, overall=8)
    for _ in range(3):
        assert attempt(engine, limits, "192.0.2.1", "email:a@x.org").allowed
    refused = attempt(engine, limits, "192.0.2.1", "email:a@x.org")
    assert refused.refused_by == "address" and 118 <= refused.retry_after <= 120
    # the address was full: the account's bucket did not count that attempt
    assert attempt(engine, limits, "192.0.2.2", "email:a@x.org").allowed
    assert attempt(engine, limits, "192.0.2.3", "email:a@x.org").allowed
    full = attempt(engine, limits, "192.0.2.4", "email:a@x.org")
    assert full.refused_by == "account"
    # a second factor with the attempt: through a full account bucket, as a step-up
    stepped = attempt(engine, limits, "192.0.2.4", "email:a@x.org", step_up=True)
    assert stepped.allowed and stepped.step_up
    # and the global bucket counts every attempt that got past the others
    assert attempt(engine, limits, "192.0.2.5", "email:b@x.org").allowed
    assert attempt(engine, limits, "192.0.2.6").allowed
    ceiling = attempt(engine, limits, "192.0.2.7")
    assert ceiling.refused_by == "global"


def test_a_signed_in_persons_attempt_is_not_refused_by_the_global_bucket(
    engine: Any,
) -> None:
    """Finance's release code: strangers filling the family's global bucket must not
    refuse it; the person's own address and account buckets still bound it."""
    limits = throttles.Limits(window=120, per_address=3, per_account=2, overall=2)

    def second_factor(address: str, account: str, overall: bool) -> throttles.Verdict:
        with Session(engine) as session, session.begin():
            return throttles.check(
                session,
                SECRET,
                "second_factor",
                limits,
                address,
                account,
                overall=overall,
            )

    for n in range(2):
        assert second_factor(f"192.0.2.{n}", f"actor:{n}", True).allowed
    assert second_factor("192.0.2.9", "actor:9", True).refused_by == "global"
    assert second_factor("198.51.100.1", "actor:finance", False).allowed
    assert second_factor("198.51.100.1", "actor:finance", False).allowed
    refused = second_factor("198.51.100.2", "actor:finance", False)
    assert refused.refused_by == "account"


def test_a_window_that_ended_starts_again_and_is_purged(engine: Any) -> None:
    limits = throttles.Limits(window=1, per_address=1, per_account=1, overall=100)
    assert attempt(engine, limits, "192.0.2.1").allowed
    assert attempt(engine, limits, "192.0.2.1").refused_by == "address"
    time.sleep(1.1)  # the window itself is what is tested
    assert attempt(engine, limits, "192.0.2.1").allowed  # a new window
    time.sleep(1.1)
    with Session(engine) as session, session.begin():
        assert throttles.purge(session) == 2  # the address's and the global bucket
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM throttles")).scalar_one() == 0


# -- through the gateway -----------------------------------------------------------
Start = Callable[..., tuple[Registry, list[str], Any]]


@pytest.fixture
def stack(
    as_gateway: None, database: Any, service_config: Any, container_factory: Any
) -> Iterator[Start]:
    """`stack(replicas=1, **settings)`: a registry, gateways (one database) behind
    one proxy, with these throttling settings; (registry, gateway URLs, engine)."""
    engines: list[Any] = []

    def start(replicas: int = 1, **settings: Any) -> tuple[Registry, list[str], Any]:
        settings = {"TRUSTED_PROXIES": 1, **settings}
        url, gateway_db = start_gateway(
            database, service_config, container_factory, **settings
        )
        urls = [url]
        for _ in range(replicas - 1):
            urls.append(
                start_gateway(
                    database, service_config, container_factory, gateway_db, **settings
                )[0]
            )
        registry_db = database("registry")
        registry = container_factory(
            RegistryService, service_config("registry", DB_URI=registry_db)
        )
        replace_dependencies(registry, stripe=FakeConnect())
        registry.start()
        system = Registry(registry, registry_db, None)
        system.url = urls[0]
        engines.extend([system.engine, create_engine(gateway_db)])
        return system, urls, engines[-1]

    yield start
    for made in engines:
        made.dispose()


def sign_in(
    url: str, address: str, email: str, password: str, code: str | None = None
) -> requests.Response:
    body = {"email": email, "password": password}
    if code:
        body["code"] = code
    return requests.post(
        url + SESSION,
        json=body,
        headers={"X-Forwarded-For": address},  # as the one trusted proxy writes it
        timeout=30,
    )


def finance_signed_in(system: Registry, url: str, email: str) -> Client:
    """A finance person made by an admin, signed in through the API (enrolling an
    authenticator on the way)."""
    system.call(
        "create_staff_account",
        ADMIN_A,
        {"email": email, "roles": ["finance"], "password": PASSWORD},
    )
    person = Client(url)
    assert person.sign_in(email).status_code == 200
    return person


def assert_throttled(response: requests.Response, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "too_many_attempts"
    assert 1 <= int(response.headers["Retry-After"]) <= window


# the loggers the gateway's config.yml quiets (the web server's access log, which
# holds client addresses): a record below its level is never written
QUIETED = {
    name: logging.getLevelName(settings["level"])
    for name, settings in service_config_file("gateway")["LOGGING"]["loggers"].items()
}


def kept(record: logging.LogRecord) -> bool:
    """Would the gateway's logging configuration write this record?"""
    return not any(
        record.name.startswith(name) and record.levelno < level
        for name, level in QUIETED.items()
    )


def failed_attempts(system: Registry) -> int:
    return int(system.sql("SELECT sum(failed_attempts) FROM accounts")[0][0] or 0)


def test_bad_sign_ins_from_one_address_get_429_while_another_address_signs_in(
    stack: Start, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    system, (url,), engine = stack(THROTTLE_PER_ADDRESS=3, THROTTLE_WINDOW=300)
    system.active(email="vera@example.org", password=PASSWORD)
    for _ in range(3):
        assert sign_in(url, "198.51.100.7", "vera@example.org", WRONG).status_code == (
            401
        )
    assert_throttled(sign_in(url, "198.51.100.7", "vera@example.org", WRONG), 300)
    # refused before anything is checked: even the right password, and the
    # registry never saw the refused attempts
    assert_throttled(sign_in(url, "198.51.100.7", "vera@example.org", PASSWORD), 300)
    assert failed_attempts(system) == 3
    # what the client writes in X-Forwarded-For itself does not move it elsewhere
    forged = sign_in(url, "198.51.100.8, 198.51.100.7", "vera@example.org", PASSWORD)
    assert forged.status_code == 429
    # another address signs in
    assert sign_in(url, "198.51.100.8", "vera@example.org", PASSWORD).status_code == (
        200
    )
    # no address or email is stored or logged: the buckets are keyed hashes
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT key, hits FROM throttles")).all()
    assert rows and all(re.fullmatch(r"[0-9a-f]{64}", row.key) for row in rows)
    logged = "\n".join(r.getMessage() for r in caplog.records if kept(r))
    assert "198.51.100.7" not in logged and "vera@example.org" not in logged


def test_the_limit_of_one_account_holds_across_addresses(stack: Start) -> None:
    system, (url,), _ = stack(THROTTLE_PER_ACCOUNT=3, THROTTLE_WINDOW=300)
    system.active(email="vera@example.org", password=PASSWORD)
    for n in range(3):
        guess = sign_in(url, f"203.0.113.{n}", " Vera@Example.org", WRONG)
        assert guess.status_code == 401
    assert_throttled(sign_in(url, "203.0.113.50", "vera@example.org", WRONG), 300)
    # another account from the same addresses is not held up
    assert sign_in(url, "203.0.113.1", "nina@example.org", WRONG).status_code == 401


def test_two_gateway_replicas_share_the_count(stack: Start) -> None:
    system, urls, _ = stack(replicas=2, THROTTLE_PER_ADDRESS=4)
    system.active(email="vera@example.org", password=PASSWORD)
    first, second = urls
    assert first != second
    for url in (first, second, first, second):
        assert sign_in(url, "192.0.2.44", "vera@example.org", WRONG).status_code == 401
    assert sign_in(first, "192.0.2.44", "vera@example.org", WRONG).status_code == 429
    assert sign_in(second, "192.0.2.44", "vera@example.org", WRONG).status_code == 429


def test_a_strangers_guesses_do_not_lock_staff_out(stack: Start) -> None:
    """Enough bad guesses to fill the account's bucket and lock the account in the
    registry: a password alone is refused (the stranger's right guess too), the
    right password with a current code still gets the owner in."""
    system, (url,), _ = stack(THROTTLE_PER_ACCOUNT=3, THROTTLE_PER_ADDRESS=100)
    email = "finance.lead@example.org"
    owner = finance_signed_in(system, url, email)  # enrolled with an authenticator
    totp = pyotp.TOTP(owner.secret)
    wrong_code = next(
        c for c in ("123456", "654321") if not totp.verify(c, valid_window=1)
    )
    for n in range(2):  # with the owner's sign-in above, the account's bucket is full
        assert sign_in(url, f"203.0.113.{n}", email, WRONG).status_code == 401
    assert_throttled(sign_in(url, "203.0.113.9", email, WRONG), 300)
    for n in range(3):  # with a made-up code the guesses reach the registry: a lock
        guess = sign_in(url, f"203.0.113.{10 + n}", email, WRONG, wrong_code)
        assert guess.status_code == 401
    (locked,) = system.sql("SELECT locked_until FROM accounts WHERE kind = 'staff'")
    assert locked.locked_until is not None
    assert locked.locked_until > datetime.now(UTC)
    # the password alone passes neither the gateway nor the lock
    assert sign_in(url, "192.0.2.1", email, PASSWORD).status_code == 429
    assert sign_in(url, "192.0.2.1", email, PASSWORD, wrong_code).status_code == 401
    # the owner, with the password and the current code, gets in
    owner_in = sign_in(url, "192.0.2.1", email, PASSWORD, next_code(totp))
    assert owner_in.status_code == 200, owner_in.text
    assert owner_in.json()["status"] == "ok"
    assert owner_in.json()["actor"]["roles"] == ["finance"]
    (after,) = system.sql("SELECT locked_until FROM accounts WHERE kind = 'staff'")
    assert after.locked_until is None  # passing the lock lifts it


def test_the_console_says_when_to_try_again_in_russian_and_english(
    stack: Start,
) -> None:
    system, (url,), _ = stack(THROTTLE_PER_ACCOUNT=1, THROTTLE_WINDOW=600)
    browser = requests.Session()
    browser.get(url + "/sign-in", timeout=30)
    form = {
        "csrf": browser.cookies["csrf"],
        "email": "vera@example.org",
        "password": WRONG,
    }
    first = browser.post(url + "/sign-in", data=form, timeout=30)
    assert first.status_code == 401
    russian = browser.post(url + "/sign-in", data=form, timeout=30)
    assert russian.status_code == 429
    assert 540 <= int(russian.headers["Retry-After"]) <= 600
    assert "Слишком много попыток" in russian.text and "10 мин" in russian.text
    assert 'id="code-passes"' in russian.text  # the account's: a code passes
    english = browser.post(url + "/sign-in?lang=en", data=form, timeout=30)
    assert english.status_code == 429
    assert "Try again in 10 min." in english.text
    assert "too_many_attempts" not in english.text  # no internal code on screen


def test_a_wait_under_a_minute_is_said_in_seconds(stack: Start) -> None:
    """The page says the wait Retry-After gives, not a minute rounded up."""
    system, (url,), _ = stack(THROTTLE_PER_ACCOUNT=1, THROTTLE_WINDOW=40)
    browser = requests.Session()
    browser.get(url + "/sign-in", timeout=30)
    form = {
        "csrf": browser.cookies["csrf"],
        "email": "ilya@example.org",
        "password": WRONG,
    }
    assert browser.post(url + "/sign-in", data=form, timeout=30).status_code == 401
    refused = browser.post(url + "/sign-in?lang=en", data=form, timeout=30)
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 40
    assert f"Try again in {wait} s." in refused.text, refused.text


def test_second_factor_posts_without_a_session_count_in_no_bucket(
    stack: Start,
) -> None:
    """With no session no code can be checked: such posts are refused without being
    counted, so a stranger cannot fill the second factor's global bucket (which
    would also hold up sign-ins that need a code)."""
    system, (url,), engine = stack(THROTTLE_GLOBAL=2)
    for n in range(5):
        answer = requests.post(
            url + "/api/v1/session/second-factor",
            json={"code": "123456"},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
            timeout=30,
        )
        assert answer.status_code != 429, answer.text
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM throttles")).scalar_one() == 0


def test_no_bucket_outlives_its_window(stack: Start) -> None:
    """The gateway's own timer deletes every bucket once its window has ended."""
    system, (url,), engine = stack(THROTTLE_WINDOW=1)
    for n in range(3):
        sign_in(url, f"192.0.2.{n}", f"{uuid.uuid4().hex}@example.org", WRONG)

    def buckets() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM throttles")).scalar_one()
            )

    assert buckets() > 0
    deadline = time.monotonic() + 1 + throttles.PURGE_EVERY + 10
    while buckets() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert buckets() == 0


def test_asking_to_confirm_a_release_is_no_second_factor_attempt(
    stack: Start,
) -> None:
    """Releasing a run in the console takes the code on the run's page, shows what
    will be sent and asks to confirm: that first post checks no code and counts in
    no bucket; the confirmed post, which sends the code, counts."""
    system, (url,), engine = stack(THROTTLE_PER_ACCOUNT=50, THROTTLE_PER_ADDRESS=50)
    finance = finance_signed_in(system, url, "finance.release@example.org")

    def hits() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT coalesce(sum(hits), 0) FROM throttles")
                ).scalar_one()
            )

    form = {"csrf": finance.csrf, "totals_digest": "d", "code": "123456"}
    release = f"{url}/finance/runs/{uuid.uuid4()}/release"
    before = hits()
    for _ in range(3):
        finance.http.post(release, data=form, timeout=30)
    assert hits() == before  # three confirmation pages: no attempt
    finance.http.post(release, data={**form, "confirmed": "yes"}, timeout=30)
    assert hits() > before  # the confirmed form carries the code: an attempt


def test_an_application_past_its_attempts_keeps_what_was_typed(
    stack: Start,
) -> None:
    """The application's form answered too many attempts: it comes back with what
    was typed (not the password), saying when to send it again, and nothing is
    recorded; saving the draft, on buckets of its own, still works."""
    system, (url,), _ = stack(THROTTLE_PER_ACCOUNT=1, THROTTLE_WINDOW=600)
    browser = requests.Session()
    page = browser.get(url + "/apply?lang=en", timeout=30)
    data = application(city="Kutaisi", country="XX")  # refused: no such country
    form = {
        **{k: v for k, v in data.items() if isinstance(v, str)},
        "languages": ["ru"],
        "csrf": csrf(page.text),
        "password": PASSWORD,
        "consent": "yes",
    }
    first = browser.post(url + "/apply?lang=en", data=form, timeout=30)
    assert first.status_code == 400 and 'id="error-country"' in first.text
    form["country"] = "GE"
    again = browser.post(url + "/apply?lang=en", data=form, timeout=30)
    assert again.status_code == 429
    assert 540 <= int(again.headers["Retry-After"]) <= 600
    assert "Try again in 10 min." in again.text
    for name in ("pseudonym", "email", "city"):
        assert f'value="{data[name]}"' in again.text, name
    assert PASSWORD not in again.text
    assert 'name="consent" value="yes" aria-required="true" checked' in again.text
    assert 'action="/apply"' in again.text  # the form, to send again later
    assert system.sql("SELECT count(*) FROM communicators")[0][0] == 0
    form["action"] = "save_draft"
    saved = browser.post(url + "/apply/draft?lang=en", data=form, timeout=30)
    assert saved.status_code == 200 and 'data-draft="saved"' in saved.text
