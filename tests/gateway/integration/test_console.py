"""The web console without a browser: forms, CSRF, sessions, sign-in with TOTP, and
who may see what. (tests/browser drives the same pages in Chromium.)"""

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pyotp
import pytest
import requests

from tests.gateway.conftest import Stipends, funded_programme, ready_payee
from tests.helpers import actor, next_code, wait_until
from tests.registry.integration.conftest import ADMIN_A, Registry, application

PASSWORD = "correct horse battery staple"


def csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def apply(
    system: Registry, lang: str = "", **changes: Any
) -> tuple[requests.Response, dict]:
    browser = requests.Session()
    form = browser.get(f"{system.url}/apply?lang={lang}", timeout=30)
    data = application(password=PASSWORD, **changes)
    body = {
        **{k: v for k, v in data.items() if isinstance(v, str)},
        "languages": "ru, en",
        "consent": "yes",
        "csrf": csrf(form.text),
    }
    return browser.post(f"{system.url}/apply", data=body, timeout=30), data


def sign_in(
    system: Registry, email: str, password: str = PASSWORD, code: str = ""
) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    page = browser.get(f"{system.url}/sign-in", timeout=30)
    response = browser.post(
        f"{system.url}/sign-in",
        timeout=30,
        data={
            "email": email,
            "password": password,
            "code": code,
            "csrf": csrf(page.text),
        },
        allow_redirects=False,
    )
    return browser, response


def test_applying_through_the_form_then_signing_in(system: Registry) -> None:
    response, data = apply(system)
    assert response.status_code == 200
    assert "Ваша заявка получена" in response.text
    browser, signed_in = sign_in(system, data["email"])
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/me"
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    home = browser.get(f"{system.url}/me", timeout=30)
    assert data["pseudonym"] in home.text
    assert 'id="status" data-code="applied">Заявка получена<' in home.text
    assert data["email"] not in home.text  # the home page shows no personal field


def test_the_form_offers_only_the_countries_where_people_can_be_paid(
    system: Registry,
) -> None:
    page = requests.get(f"{system.url}/apply?lang=en", timeout=30).text
    select = re.search(r'<select name="country".*?</select>', page, re.S)
    assert select, "the country select"
    offered = set(re.findall(r'<option value="([A-Z]{2})"', select.group(0)))
    served = {row[0] for row in system.sql("SELECT country FROM corridors")}
    assert offered == served and "RU" not in offered
    assert 'aria-describedby="hint-country"' in select.group(0)
    assert 'id="hint-country"' in page and "cannot apply yet" in page
    assert 'href="mailto:programme@svyaz.invalid" id="programme-contact"' in page


def test_an_application_read_in_english_is_answered_in_english(
    system: Registry,
) -> None:
    """The form has no language field: the one the applicant read it in is
    theirs, for their mails and, at sign-in, their pages."""
    response, data = apply(system, lang="en")
    assert response.status_code == 200 and '<html lang="en">' in response.text
    ((language,),) = system.sql(
        "SELECT language FROM communicators WHERE pseudonym = :p", p=data["pseudonym"]
    )
    assert language == "en"
    _, signed_in = sign_in(system, data["email"])  # another browser, no ?lang
    home = requests.get(
        f"{system.url}/me",
        cookies={"session": signed_in.cookies["session"]},
        timeout=30,
    )
    assert '<html lang="en">' in home.text


def test_a_form_without_its_csrf_token_changes_nothing(system: Registry) -> None:
    body = application(password=PASSWORD)
    response = requests.post(
        f"{system.url}/apply",
        timeout=30,
        data={
            **{k: v for k, v in body.items() if isinstance(v, str)},
            "consent": "yes",
        },
    )
    assert response.status_code == 400
    assert system.sql("SELECT count(*) FROM communicators")[0][0] == 0


def test_a_bad_field_is_shown_next_to_it(system: Registry) -> None:
    response, _ = apply(system, email="not-an-email")
    assert response.status_code == 400
    assert 'id="error-email"' in response.text
    assert system.sql("SELECT count(*) FROM communicators")[0][0] == 0


def test_the_enrolment_page_reloaded_starts_the_sign_in_again(
    system: Registry,
) -> None:
    reloaded = requests.get(
        f"{system.url}/sign-in/enroll", timeout=30, allow_redirects=False
    )
    assert reloaded.status_code == 303 and reloaded.headers["Location"] == "/sign-in"


def test_a_failed_sign_in_is_neutral(system: Registry) -> None:
    _, data = apply(system)
    for email, password in (
        (data["email"], "not the password"),
        ("unknown@example.org", PASSWORD),
    ):
        _, response = sign_in(system, email, password)
        assert response.status_code == 401
        assert "Неверная почта, пароль или код." in response.text


def test_an_admin_enrolls_totp_and_decides_an_application(system: Registry) -> None:
    system.call(
        "create_staff_account",
        ADMIN_A,
        {
            "email": "admin.one@example.org",
            "roles": ["program_admin"],
            "password": PASSWORD,
        },
    )
    browser, enroll = sign_in(system, "admin.one@example.org")
    assert enroll.status_code == 200 and 'id="totp-secret"' in enroll.text
    done, totp = enrol(system, browser, enroll)
    assert done.status_code == 303
    assert done.headers["Location"] == "/admin/applications"

    _, data = apply(system)
    listing = browser.get(f"{system.url}/admin/applications", timeout=30)
    assert data["pseudonym"] in listing.text
    ident = re.search(r'href="/admin/applications/([0-9a-f-]+)"', listing.text).group(1)
    page = browser.get(f"{system.url}/admin/applications/{ident}", timeout=30)
    assert data["legal_name"] in page.text
    assert data["motivation"] in page.text
    moved = browser.post(
        f"{system.url}/admin/applications/{ident}",
        timeout=30,
        data={
            "step": "start_review",
            "reason": "documents complete",
            "csrf": csrf(page.text),
        },
        allow_redirects=False,
    )
    assert moved.status_code == 303
    assert system.sql("SELECT status FROM communicators")[0][0] == "in_review"
    reviewing = browser.get(f"{system.url}/admin/applications/{ident}", timeout=30)
    assert 'value="approve"' in reviewing.text  # one's own approval, offered
    approved = browser.post(
        f"{system.url}/admin/applications/{ident}",
        timeout=30,
        data={"step": "approve", "reason": "looks right", "csrf": csrf(page.text)},
    )
    assert approved.status_code == 200, approved.text
    # given, it is another admin's to give next: not offered again (an outside
    # reading: offered, then refused)
    after = browser.get(f"{system.url}/admin/applications/{ident}", timeout=30).text
    assert 'value="approve"' not in after and 'id="approved-by-you"' in after
    assert system.sql("SELECT status FROM communicators")[0][0] == "in_review"

    forged = browser.post(
        f"{system.url}/admin/applications/{ident}",
        timeout=30,
        data={"step": "reject", "reason": "forged request"},
    )
    assert forged.status_code == 403
    assert system.sql("SELECT status FROM communicators")[0][0] == "in_review"

    # later sign-ins need the code; without it the answer is the same neutral one
    _, no_code = sign_in(system, "admin.one@example.org")
    assert no_code.status_code == 401
    again, ok = sign_in(system, "admin.one@example.org", code=next_code(totp))
    assert ok.status_code == 303

    # an applicant who gave no reason: said in words, not as a program's None
    _, quiet = apply(system, motivation="")
    quiet_id = system.sql(
        "SELECT id FROM communicators WHERE pseudonym = :p", p=quiet["pseudonym"]
    )[0][0]
    said = browser.get(f"{system.url}/admin/applications/{quiet_id}", timeout=30)
    assert said.status_code == 200 and quiet["pseudonym"] in said.text
    assert ">None<" not in said.text and "Не указано" in said.text  # ru here


def test_pages_are_for_their_roles_and_sign_out_ends_the_session(
    system: Registry,
) -> None:
    anonymous = requests.get(
        f"{system.url}/admin/applications", timeout=30, allow_redirects=False
    )
    assert anonymous.status_code == 303 and anonymous.headers["Location"] == "/sign-in"
    _, data = apply(system)
    browser, _ = sign_in(system, data["email"])
    assert (
        browser.get(f"{system.url}/admin/applications", timeout=30).status_code == 403
    )
    home = browser.get(f"{system.url}/me", timeout=30)
    out = browser.post(
        f"{system.url}/sign-out",
        data={"csrf": csrf(home.text)},
        timeout=30,
        allow_redirects=False,
    )
    assert out.status_code == 303
    after = browser.get(f"{system.url}/me", timeout=30, allow_redirects=False)
    assert after.status_code == 303 and after.headers["Location"] == "/sign-in"


def test_the_quick_exit_ends_the_session_and_leaves_for_a_neutral_site(
    system: Registry,
) -> None:
    _, data = apply(system)
    browser, _ = sign_in(system, data["email"])
    home = browser.get(f"{system.url}/me", timeout=30)
    assert 'href="/leave"' in home.text  # on every communicator page
    token = browser.cookies["session"]
    left = browser.get(f"{system.url}/leave", timeout=30, allow_redirects=False)
    assert left.status_code == 303
    assert left.headers["Location"] == "https://www.wikipedia.org/"
    assert "cookies" in left.headers["Clear-Site-Data"]
    assert "session" not in browser.cookies  # the browser was told to drop it
    # the same token brought back (a copy of the cookie) opens nothing: the server
    # ended the session too
    again = requests.get(
        f"{system.url}/me",
        cookies={"session": token},
        timeout=30,
        allow_redirects=False,
    )
    assert again.status_code == 303 and again.headers["Location"] == "/sign-in"


@pytest.mark.parametrize("lang,word", [("en", "Sign in"), ("ru", "Войти")])
def test_the_console_speaks_russian_and_english(
    system: Registry, lang: str, word: str
) -> None:
    page = requests.get(f"{system.url}/sign-in?lang={lang}", timeout=30)
    assert f'<html lang="{lang}">' in page.text and word in page.text


def signed_in_staff(
    system: Registry, email: str, roles: list[str]
) -> tuple[requests.Session, str, pyotp.TOTP]:
    """A new staff member, signed in through the pages with TOTP enrolled."""
    system.call(
        "create_staff_account",
        ADMIN_A,
        {"email": email, "roles": roles, "password": PASSWORD},
    )
    browser, enroll = sign_in(system, email)
    done, totp = enrol(system, browser, enroll, follow=True)
    assert done.status_code == 200
    return browser, done.text, totp


def enrol(
    system: Registry,
    browser: requests.Session,
    enroll: requests.Response,
    follow: bool = False,
) -> tuple[requests.Response, pyotp.TOTP]:
    """The first sign-in's second step: the authenticator added with the key the
    enrolment page shows, confirmed with its code."""
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enroll.text).group(1)
    totp = pyotp.TOTP(secret)
    done = browser.post(
        f"{system.url}/sign-in/enroll",
        timeout=30,
        data={"code": totp.now(), "csrf": csrf(enroll.text)},
        allow_redirects=follow,
    )
    return done, totp


def test_staff_invited_in_english_are_spoken_to_in_english_from_the_start(
    system: Registry,
) -> None:
    """Until they choose a language in their preferences, the console speaks the
    one they were invited in, from the authenticator's set-up on."""
    spoken = {}
    for language in ("en", None):
        email = f"invited.{uuid.uuid4().hex[:6]}@example.org"
        made = system.call(
            "create_staff_account",
            ADMIN_A,
            {"email": email, "roles": ["finance"], "password": PASSWORD},
        )
        system.sql(
            "UPDATE accounts SET language = :l WHERE id = :i", l=language, i=made["id"]
        )
        browser, enroll = sign_in(system, email)  # no ?lang, no Accept-Language
        done, _ = enrol(system, browser, enroll, follow=True)
        spoken[language] = (enroll.text, done.text)
    for page in spoken["en"]:
        assert '<html lang="en">' in page
    for page in spoken[None]:  # none given: the programme's default
        assert '<html lang="ru">' in page


def test_a_wrong_code_at_the_authenticator_set_up_asks_again_with_the_same_key(
    system: Registry,
) -> None:
    """Setting up the authenticator, a wrong code draws the same key again with
    what to do (it sent the person back to sign in, with a new key to scan)."""
    email = f"enrol.{uuid.uuid4().hex[:6]}@example.org"
    system.call(
        "create_staff_account",
        ADMIN_A,
        {"email": email, "roles": ["finance"], "password": PASSWORD},
    )
    browser, enroll = sign_in(system, email)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enroll.text).group(1)
    right = pyotp.TOTP(secret).now()
    posted = dict(
        re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', enroll.text)
    )
    wrong = browser.post(
        f"{system.url}/sign-in/enroll?lang=en",
        timeout=30,
        data={**posted, "code": "000000" if right != "000000" else "111111"},
        allow_redirects=False,
    )
    assert wrong.status_code == 400
    assert f'id="totp-secret">{secret}<' in wrong.text
    assert "the key above stays the same" in wrong.text
    again, _ = enrol(system, browser, wrong)  # signed in: to finance's landing
    assert again.status_code in (302, 303) and again.headers["Location"] == "/finance"


def test_another_roles_page_is_refused_with_the_signed_in_menu(
    system: Registry,
) -> None:
    """A page for communicators, opened by an admin: 403 in words, and the menu
    is still the signed-in person's (it showed "Sign in" as if they were out)."""
    admin, _ = signed_in_admin(system, f"menu.{uuid.uuid4().hex[:6]}@example.org")
    refused = admin.get(f"{system.url}/me/vouches?lang=en", timeout=30)
    assert refused.status_code == 403
    assert 'action="/sign-out"' in refused.text
    assert 'href="/sign-in"' not in refused.text


def signed_in_admin(system: Registry, email: str) -> tuple[requests.Session, str]:
    browser, page, _ = signed_in_staff(system, email, ["program_admin"])
    return browser, page


def test_an_active_communicator_sets_up_payments_by_their_corridor(
    system: Registry,
) -> None:
    data = application(password=PASSWORD, country="DE", city="Berlin")
    system.active(**data)
    browser, _ = sign_in(system, data["email"])
    home = browser.get(f"{system.url}/me?lang=en", timeout=30)
    assert 'action="/me/payout-setup"' in home.text and "Set up payments" in home.text
    assert 'id="payout-ready"' not in home.text
    forged = browser.post(f"{system.url}/me/payout-setup", timeout=30, data={})
    assert forged.status_code == 403 and not system.connect.accounts
    setup = browser.post(
        f"{system.url}/me/payout-setup", timeout=30, data={"csrf": csrf(home.text)}
    )
    assert setup.status_code == 200
    (account,) = system.connect.accounts.values()  # Germany: Stripe Connect
    link = re.search(r'id="onboarding-link" href="([^"]+)"', setup.text).group(1)
    assert link.endswith(account) and data["email"] not in link
    # back from Stripe's page unfinished: still started
    back = browser.get(f"{system.url}/me/payouts?done=1&lang=en", timeout=30)
    assert back.url.endswith("/me") or "/me?" in back.url
    assert 'id="payout-setup-status" data-code="pending"' in back.text
    # finished there: coming back, the page says ready at once, before Stripe's
    # webhook (which is not sent here at all)
    system.connect.onboarded.add(account)
    ready = browser.get(f"{system.url}/me/payouts?done=1&lang=en", timeout=30).text
    assert 'id="payout-setup-status" data-code="ready"' in ready
    assert 'id="payout-ready"' in ready and "Change where payments go" in ready
    assert "Set up payments" not in ready
    assert 'action="/me/payout-setup"' in ready  # to change it, the same step


def test_erasure_from_the_console_needs_confirmation_and_ends_the_session(
    system: Registry,
) -> None:
    data = application(password=PASSWORD)
    ident = system.active(**data)
    browser, _ = sign_in(system, data["email"])
    home = browser.get(f"{system.url}/me", timeout=30)
    unconfirmed = browser.post(
        f"{system.url}/me/erase",
        timeout=30,
        data={"csrf": csrf(home.text), "reason": "leaving"},
    )
    assert unconfirmed.status_code == 400
    assert system.sql("SELECT erased_at FROM communicators WHERE id = :i", i=ident)[
        0
    ] == (None,)
    erased = browser.post(
        f"{system.url}/me/erase",
        timeout=30,
        data={
            "csrf": csrf(home.text),
            "reason": "leaving",
            "confirm": "yes",
            "confirmed": "yes",
        },
    )
    assert erased.status_code == 200 and "удалены" in erased.text
    assert system.sql("SELECT erased_at FROM communicators WHERE id = :i", i=ident)[0][
        0
    ]
    after = browser.get(f"{system.url}/me", timeout=30, allow_redirects=False)
    assert after.status_code == 303 and after.headers["Location"] == "/sign-in"
    _, again = sign_in(system, data["email"])
    assert again.status_code == 401


def test_an_admin_edits_the_corridor_table(system: Registry) -> None:
    browser, _ = signed_in_admin(system, "admin.corridors@example.org")
    page = browser.get(f"{system.url}/admin/corridors?lang=en", timeout=30)
    assert page.status_code == 200 and "Payment routes" in page.text
    assert '<td data-label="Country" data-code="GE">Georgia</td>' in page.text
    # by the country's name, each select named by it (was: by code, "… GE")
    shown = re.findall(r'data-code="([A-Z]{2})">([^<]+)</td>', page.text)
    assert [name for _, name in shown] == sorted(name for _, name in shown)
    assert 'aria-label="Payment provider: Georgia"' in page.text
    changed = browser.post(
        f"{system.url}/admin/corridors",
        timeout=30,
        data={"csrf": csrf(page.text), "country": "ge", "provider": "stripe_global"},
        allow_redirects=False,
    )
    assert changed.status_code == 303
    routes = dict(system.sql("SELECT country, provider FROM corridors"))
    assert routes["GE"] == "stripe_global"
    refused = browser.post(
        f"{system.url}/admin/corridors",
        timeout=30,
        data={"csrf": csrf(page.text), "country": "GE", "provider": "pigeon"},
    )
    assert refused.status_code == 400 and 'id="error"' in refused.text
    forged = browser.post(
        f"{system.url}/admin/corridors",
        timeout=30,
        data={"country": "GE", "provider": "bank_file"},
    )
    assert forged.status_code == 403
    assert dict(system.sql("SELECT country, provider FROM corridors"))["GE"] == (
        "stripe_global"
    )


def test_a_report_from_form_to_approved_stipend_in_the_console(
    system: Registry, stipends: Stipends
) -> None:
    data = application(password=PASSWORD, country="DE", city="Berlin")
    ready_payee(system, stipends, data)
    programme = funded_programme(stipends, 50_000, 20_000)
    deadline = datetime.now(UTC) + timedelta(seconds=8)
    cycle = stipends.call(
        "open_cycle", ADMIN_A, programme, "2026-11", deadline.isoformat()
    )["id"]

    browser, _ = sign_in(system, data["email"])
    form = browser.get(f"{system.url}/me/report?lang=en", timeout=30)
    assert form.status_code == 200 and 'name="narrative"' in form.text
    bad = browser.post(
        f"{system.url}/me/report",
        timeout=30,
        data={"csrf": csrf(form.text), "cycle_id": cycle, "conversations": "many"},
    )
    assert bad.status_code == 400 and 'id="error"' in bad.text
    assert not stipends.sql("SELECT 1 FROM activity_reports")
    # a text beyond its limit: the form again, as typed, the fault at the field
    too_long = "Long story. " * 420  # 5,040 characters, the limit 5,000
    long_sent = browser.post(
        f"{system.url}/me/report",
        timeout=30,
        data={
            "csrf": csrf(form.text),
            "cycle_id": cycle,
            "conversations": "5",
            "narrative": too_long,
        },
    )
    assert long_sent.status_code == 400 and 'name="narrative"' in long_sent.text
    assert too_long.strip() in long_sent.text  # kept, to shorten
    assert 'id="error-narrative"' in long_sent.text
    assert 'name="conversations"' in long_sent.text and 'value="5"' in long_sent.text
    # the same from a page elsewhere (no token): refused before any of it is
    # read, and nothing of it drawn back into the person's page
    forged = browser.post(
        f"{system.url}/me/report",
        timeout=30,
        data={"cycle_id": cycle, "conversations": "5", "narrative": too_long},
    )
    assert forged.status_code == 403 and too_long.strip() not in forged.text
    assert 'name="narrative"' not in forged.text
    assert not stipends.sql("SELECT 1 FROM activity_reports")
    sent = browser.post(
        f"{system.url}/me/report",
        timeout=30,
        data={
            "csrf": csrf(form.text),
            "cycle_id": cycle,
            "report_id": "",
            "conversations": "5",
            "audiences": ["family", "friends"],
            "channels": ["video"],
            "topics": "prices, news",
            "hours": "4",
            "observed_change": "some",
            "narrative": "Uncle (+7 916 123-45-67, @uncle_v) began to doubt.",
            "action": "submit",
        },
    )
    assert sent.status_code == 200
    assert re.search(r'id="redacted">[^<]*phone', sent.text)
    # ids on the page are random hex: one may hold "916" by chance, the phone may not
    shown = re.sub(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "", sent.text
    )
    assert 'data-code="submitted">Submitted<' in sent.text and "916" not in shown
    (narrative,) = stipends.sql("SELECT narrative FROM activity_reports")[0]
    assert "916" not in narrative and "@uncle_v" not in narrative

    closer, _ = signed_in_admin(system, "admin.closer@example.org")
    queue = closer.get(f"{system.url}/admin/reports?lang=en", timeout=30)
    report = re.search(r'action="/admin/reports/([0-9a-f-]+)"', queue.text).group(1)
    (author,) = stipends.sql(  # the reviewer is told whose report it is
        "SELECT c.pseudonym FROM activity_reports r "
        "JOIN communicators c ON c.id = r.communicator_id"
    )[0]
    assert f"<h3>Report of {author}</h3>" in queue.text
    closer.post(
        f"{system.url}/admin/reports/{report}",
        timeout=30,
        data={"csrf": csrf(queue.text), "decision": "accepted"},
    )
    assert stipends.sql("SELECT status FROM activity_reports")[0][0] == "accepted"
    trail = closer.get(f"{system.url}/admin/reports/{report}/activity?lang=en")
    assert f"<h1>Report of {author}</h1>" in trail.text  # a person, not an id
    assert re.search(
        rf'data-action="submitted"><td[^>]*>[^<]*</td><td[^>]*>{author}<', trail.text
    )
    assert re.search(
        r'data-action="accepted"><td[^>]*>[^<]*</td><td[^>]*>you<', trail.text
    )
    wait_until(lambda: datetime.now(UTC) > deadline, "the deadline to pass")
    preview = closer.get(f"{system.url}/admin/cycles/{cycle}/close?lang=ru", timeout=30)
    assert "статус: активен; способ выплаты настроен" in preview.text  # not English
    assert "status active" not in preview.text
    closed = closer.post(
        f"{system.url}/admin/cycles/{cycle}/close",
        timeout=30,
        data={"csrf": csrf(queue.text)},
    )
    assert closed.status_code == 200 and data["pseudonym"] in closed.text
    (stipend,) = stipends.sql("SELECT id::text FROM stipends")[0]

    def approve(
        browser: requests.Session, page: str, shown: str | None = None
    ) -> requests.Response:
        """Approve as on `page`, with the digest `shown` there (else on `page`)."""
        digest = re.search(
            rf'stipend-{stipend}.*?name="digest" value="([0-9a-f]+)"',
            shown or page,
            re.S,
        ).group(1)
        return browser.post(
            f"{system.url}/admin/stipends/{stipend}",
            timeout=30,
            data={
                "csrf": csrf(page),
                "cycle": cycle,
                "digest": digest,
                "step": "approve",
            },
        )

    # the proposer is offered no approval of it (an outside reading: offered,
    # then refused), and is told whose it is
    row = re.search(rf'<tr id="stipend-{stipend}">.*?</tr>', closed.text, re.S)
    assert row and 'value="approve"' not in row.group(0)
    assert 'name="stipend"' not in row.group(0)  # nor a box to tick
    assert "Её предложили вы: одобряет другой администратор." in row.group(0)
    second, _ = signed_in_admin(system, "admin.approver@example.org")
    page = second.get(f"{system.url}/admin/stipends?cycle={cycle}", timeout=30)
    own = approve(closer, closed.text, page.text)  # posted all the same: refused
    assert own.status_code == 403 and "propos" in own.text  # says why, in place
    assert stipends.sql("SELECT status FROM stipends")[0][0] == "proposed"
    done = approve(second, page.text)
    assert done.status_code == 200
    assert stipends.sql("SELECT status FROM stipends")[0][0] == "approved"
    shown = second.get(f"{system.url}/admin/stipends?cycle={cycle}&lang=en")
    assert "(Approved by: you)" in shown.text  # who has approved what
    theirs = closer.get(f"{system.url}/admin/stipends?cycle={cycle}&lang=en").text
    assert "(Approved by: " in theirs and "(Approved by: you)" not in theirs
    home = browser.get(f"{system.url}/me?lang=en", timeout=30)
    assert re.search(
        r'<tr class="stipend"><td[^>]*>November 2026</td><td[^>]*>€200.00</td>'
        r'<td[^>]* data-code="approved">Approved</td>',
        home.text,
    )


def test_the_inbox_and_preferences_pages(system: Registry, notifications: Any) -> None:
    response, data = apply(system)
    assert response.status_code == 200
    browser, _ = sign_in(system, data["email"])
    wait_until(lambda: notifications.sql("SELECT 1 FROM inbox_messages"), "the message")
    inbox = browser.get(f"{system.url}/me/inbox?lang=en", timeout=30)
    assert inbox.status_code == 200 and 'class="message unread"' in inbox.text
    message = re.search(r'action="/me/inbox/(\d+)/read"', inbox.text).group(1)
    read = browser.post(
        f"{system.url}/me/inbox/{message}/read",
        timeout=30,
        data={"csrf": csrf(inbox.text)},
        allow_redirects=False,
    )
    assert read.status_code == 303
    assert notifications.sql("SELECT read_at FROM inbox_messages")[0][0] is not None

    form = browser.get(f"{system.url}/me/preferences?lang=en", timeout=30)
    assert 'id="discreet-always"' in form.text and 'name="discreet"' not in form.text
    # only the channels this deployment offers (no Telegram bot here)
    assert 'value="email"' in form.text and 'value="telegram"' not in form.text
    bad = browser.post(
        f"{system.url}/me/preferences",
        timeout=30,
        data={"csrf": csrf(form.text), "timezone": "Mars/Olympus", "channels": "email"},
    )
    assert bad.status_code == 400 and 'id="error"' in bad.text
    # each field says what to enter (not "correct this field")
    assert "Choose a time zone by its place, such as Europe/Berlin." in bad.text
    assert "Messages on this site stay on: tick them again." in bad.text
    saved = browser.post(
        f"{system.url}/me/preferences",
        timeout=30,
        data={
            "csrf": csrf(form.text),
            "language": "en",
            "channels": ["email", "inbox"],
            "timezone": "Asia/Tbilisi",
            "quiet_start": "22:00",
            "quiet_end": "08:00",
        },
    )
    assert saved.status_code == 200 and 'id="saved"' in saved.text
    (row,) = notifications.sql("SELECT timezone, discreet FROM preferences")
    assert row == ("Asia/Tbilisi", True)
    # answered by a GET of the page (a reload posts nothing), and the language
    # chosen there outweighs the one the switcher set before (an outside reading:
    # "Сохранено." and Russian pages after choosing English)
    assert saved.history[0].status_code == 303
    assert saved.url.endswith("/me/preferences?saved=1&lang=en")
    browser.get(f"{system.url}/me?lang=ru", timeout=30)  # the switcher: Russian
    russian = browser.post(
        f"{system.url}/me/preferences",
        timeout=30,
        data={"csrf": csrf(form.text), "language": "en", "channels": ["inbox"]},
    )
    assert 'lang="en"' in russian.text and "Saved." in russian.text
    assert 'lang="en"' in browser.get(f"{system.url}/me", timeout=30).text


def test_finance_builds_checks_and_releases_a_run_with_a_fresh_code(
    system: Registry, stipends: Stipends
) -> None:
    ident = ready_payee(system, stipends, application(country="DE", city="Berlin"))
    # the admins' record words the payee's set-up about them, not to them
    admin, _ = signed_in_admin(system, "admin.reads.setup@example.org")
    record = admin.get(f"{system.url}/admin/applications/{ident}?lang=en", timeout=30)
    assert "Stripe Connect · Ready: payments can reach them" in record.text
    assert "can reach you" not in record.text
    programme = funded_programme(stipends, 50_000, 25_000)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme, "2026-10", past)["id"]
    me = actor(["communicator"], ident)
    draft = stipends.call(
        "save_report_draft",
        me,
        cycle,
        {
            "conversations": 3,
            "audiences": ["family"],
            "channels": ["phone"],
            "hours": 2,
            "observed_change": "some",
        },
    )
    stipends.call("submit_report", me, draft["report"]["id"])
    stipends.call("review_report", ADMIN_A, draft["report"]["id"], "accepted", "")
    stipends.call("close_cycle", ADMIN_A, cycle)
    (stipend,) = stipends.call("list_stipends", ADMIN_A, cycle, "proposed")

    # one person both approves (as admin) and would release (as finance): refused
    both, page, totp_both = signed_in_staff(
        system, "both.hats@example.org", ["finance", "program_admin"]
    )
    shown = both.get(f"{system.url}/admin/stipends?cycle={cycle}", timeout=30)
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', shown.text).group(1)
    approved = both.post(
        f"{system.url}/admin/stipends/{stipend['id']}",
        timeout=30,
        data={
            "csrf": csrf(shown.text),
            "cycle": cycle,
            "digest": digest,
            "step": "approve",
        },
    )
    assert approved.status_code == 200
    assert stipends.sql("SELECT status FROM stipends")[0][0] == "approved"

    finance, home, totp = signed_in_staff(
        system, "finance.one@example.org", ["finance"]
    )
    assert 'href="/finance"' in home
    listing = finance.get(f"{system.url}/finance?lang=en", timeout=30)
    assert 'data-label="Cycle">October 2026</td>' in listing.text  # its period
    built = finance.post(
        f"{system.url}/finance/cycles/{cycle}/runs",
        timeout=30,
        data={"csrf": csrf(listing.text)},
    )
    assert built.status_code == 200
    cells = (
        r'<td[^>]*>EUR</td><td[^>]* data-code="stripe_connect">Stripe Connect</td>'
        r"<td[^>]*>1</td>"
    )
    assert re.search(cells + r"<td[^>]*>€250.00</td>", built.text)
    run = built.url.rsplit("/", 1)[1]
    # before the release, an admin can still turn the stipend down
    record = both.get(
        f"{system.url}/admin/stipends/{stipend['id']}?lang=en", timeout=30
    )
    assert 'id="committed"' not in record.text and 'id="reject"' in record.text
    totals = re.search(r'name="totals_digest" value="([0-9a-f]+)"', built.text)
    assert totals

    def release(browser: requests.Session, page: str, code: str) -> requests.Response:
        return browser.post(
            f"{system.url}/finance/runs/{run}/release",
            timeout=30,
            data={
                "csrf": csrf(page),
                "totals_digest": totals.group(1),
                "code": code,
                "confirmed": "yes",
            },
        )

    wrong = release(finance, built.text, "000000")
    assert (
        wrong.status_code == 403
        and "The code is not right; nothing was released" in wrong.text
    )
    # said on the confirmation page, which asks for the code again
    assert 'data-page="confirm"' in wrong.text and 'id="release-code"' in wrong.text
    their_page = both.get(f"{system.url}/finance/runs/{run}", timeout=30)
    approver = release(both, their_page.text, totp_both.now())
    assert approver.status_code == 403 and 'id="error"' in approver.text
    assert stipends.sql("SELECT status FROM payout_runs")[0][0] == "draft"

    released = release(finance, built.text, next_code(totp))
    assert released.status_code == 200
    assert 'id="run-status" data-code="released">' in released.text
    assert stipends.sql("SELECT status FROM payout_runs")[0][0] == "released"
    # released, it is committed: its page no longer offers to reject it, and says why
    record = both.get(
        f"{system.url}/admin/stipends/{stipend['id']}?lang=en", timeout=30
    )
    assert 'id="committed"' in record.text and 'id="reject"' not in record.text

    csv_file = finance.get(f"{system.url}/finance/runs/{run}/payouts.csv", timeout=30)
    assert csv_file.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_file.headers["Content-Disposition"]
    lines = csv_file.text.splitlines()
    assert lines[0].startswith("payout_id,stipend_id,communicator_id,amount")
    assert ",250.00,EUR,stripe_connect," in lines[1] and len(lines) == 2
    xlsx = finance.get(f"{system.url}/finance/runs/{run}/payouts.xlsx", timeout=30)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[2]][3:6] == [250, "EUR", "stripe_connect"]
    nobody = requests.get(
        f"{system.url}/finance/runs/{run}/payouts.csv",
        timeout=30,
        allow_redirects=False,
    )
    assert nobody.status_code == 303  # sign in first


def test_admin_pages_for_communicators_review_items_clubs_and_budgets(
    system: Registry, stipends: Stipends
) -> None:
    first = application()
    system.applicant(**first)
    system.applicant(email=first["email"])  # the same email: a dedup review item
    admin, _ = signed_in_admin(system, "admin.pages@example.org")

    empty = admin.get(f"{system.url}/admin/communicators?lang=en", timeout=30)
    assert 'id="search-first"' in empty.text and first["pseudonym"] not in empty.text
    prefix = first["pseudonym"][:8]
    found = admin.get(
        f"{system.url}/admin/communicators", params={"pseudonym": prefix}, timeout=30
    )
    assert first["pseudonym"] in found.text
    by_email = admin.post(
        f"{system.url}/admin/communicators",
        timeout=30,
        data={"csrf": csrf(empty.text), "email": first["email"]},
    )
    assert by_email.status_code == 200 and first["pseudonym"] in by_email.text
    assert first["email"] not in by_email.url
    bad = admin.post(
        f"{system.url}/admin/communicators",
        timeout=30,
        data={"csrf": csrf(empty.text), "email": "not-an-email"},
    )
    assert bad.status_code == 400 and 'id="error"' in bad.text

    items = admin.get(f"{system.url}/admin/review-items", timeout=30)
    item = re.search(r'action="/admin/review-items/([0-9a-f-]+)"', items.text).group(1)
    resolved = admin.post(
        f"{system.url}/admin/review-items/{item}",
        timeout=30,
        data={"csrf": csrf(items.text), "outcome": "same_person", "note": "one person"},
        allow_redirects=False,
    )
    assert resolved.status_code == 303
    assert system.sql("SELECT status FROM review_items")[0][0] != "open"

    clubs = admin.get(f"{system.url}/admin/clubs", timeout=30)
    made = admin.post(
        f"{system.url}/admin/clubs",
        timeout=30,
        data={
            "csrf": csrf(clubs.text),
            "name": "Tbilisi Evenings",
            "country": "ge",
            "city": "Tbilisi",
            "mode": "offline",
        },
    )
    assert made.status_code == 200 and "Tbilisi Evenings" in made.text
    unknown = admin.post(
        f"{system.url}/admin/clubs",
        timeout=30,
        data={
            "csrf": csrf(clubs.text),
            "name": "Ghost Club",
            "country": "GE",
            "mode": "offline",
            "coordinator": "nobody_at_all",
        },
    )
    assert unknown.status_code == 400 and 'id="error"' in unknown.text
    trained = admin.post(
        f"{system.url}/admin/trainings",
        timeout=30,
        data={"csrf": csrf(clubs.text), "title": "Listening", "held_on": "2026-11-01"},
    )
    assert trained.status_code == 200
    assert system.sql("SELECT title FROM trainings")[0][0] == "Listening"

    stipends.call(
        "create_programme",
        ADMIN_A,
        {
            "name": "Communicators 2026",
            "currency": "EUR",
            "budget_minor": 123_400,
            "tier_amounts": {"professional": 20_000, "volunteer": 0},
            "min_accepted_reports": 1,
            "min_conversations": 1,
        },
    )
    budgets = admin.get(f"{system.url}/admin/budgets", timeout=30)
    assert "Communicators 2026" in budgets.text and "€1,234.00" in budgets.text


def test_the_forgotten_password_pages_give_nothing_away(system: Registry) -> None:
    """(The whole journey, mail included, runs end to end in tests/e2e: there each
    service signs as itself, as the registry's caller checks require.)"""
    _, data = apply(system)
    anonymous = requests.Session()
    form = anonymous.get(f"{system.url}/forgot-password?lang=en", timeout=30)
    answers = [
        anonymous.post(
            f"{system.url}/forgot-password",
            timeout=30,
            data={"csrf": csrf(form.text), "email": email},
        )
        for email in (data["email"], "nobody.here@example.org")
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].text == answers[1].text
    assert "a link is on its way" in answers[0].text
    assert len(system.sql("SELECT 1 FROM password_resets")) == 1
    forged = anonymous.post(
        f"{system.url}/forgot-password", timeout=30, data={"email": data["email"]}
    )
    assert forged.status_code == 400
    assert len(system.sql("SELECT 1 FROM password_resets")) == 1

    page = anonymous.get(
        f"{system.url}/reset-password", params={"token": "x" * 43}, timeout=30
    )
    refused = anonymous.post(
        f"{system.url}/reset-password",
        timeout=30,
        data={
            "csrf": csrf(page.text),
            "token": "x" * 43,
            "password": "a new passphrase, long enough",
        },
    )
    assert refused.status_code == 400 and 'id="error"' in refused.text


def test_a_coordinator_sees_their_own_clubs_members_only(system: Registry) -> None:
    coordinator = application(password=PASSWORD)
    system.active(**coordinator)
    own = system.call(
        "create_club",
        ADMIN_A,
        {
            "name": "Yerevan Thursdays",
            "country": "AM",
            "mode": "offline",
            "coordinator": coordinator["pseudonym"],
        },
    )["id"]
    other = system.call(
        "create_club", ADMIN_A, {"name": "Elsewhere", "country": "DE", "mode": "online"}
    )["id"]
    member = application(club_id=own)
    system.active(**member)
    outsider = application(club_id=other)
    system.active(**outsider)
    for_all = system.call(
        "create_training", ADMIN_A, {"title": "Open seminar", "held_on": "2026-11-02"}
    )["id"]
    system.call(
        "create_training",
        ADMIN_A,
        {"title": "Their seminar", "held_on": "2026-11-03", "club_id": other},
    )

    browser, enroll = sign_in(system, coordinator["email"])
    enrol(system, browser, enroll)  # a coordinator signs in with a second factor
    page = browser.get(f"{system.url}/coordinator?lang=en", timeout=30)
    assert page.status_code == 200 and "Yerevan Thursdays" in page.text
    assert member["pseudonym"] in page.text
    assert outsider["pseudonym"] not in page.text and "Elsewhere" not in page.text
    for value in (member["email"], member["legal_name"]):
        assert value not in page.text
    # a training held for everyone is theirs to record for their own members
    assert 'id="for-everyone"' in page.text and "Open seminar" in page.text
    assert "Their seminar" not in page.text
    form = browser.get(f"{system.url}/trainings/{for_all}?lang=en", timeout=30)
    assert form.status_code == 200 and member["pseudonym"] in form.text
    assert outsider["pseudonym"] not in form.text
    assert "Your clubs' members are listed." in form.text

    member_login = application(password=PASSWORD, club_id=own)
    system.active(**member_login)
    plain, _ = sign_in(system, member_login["email"])
    assert plain.get(f"{system.url}/coordinator", timeout=30).status_code == 403


def test_odd_form_values_get_clear_answers_not_server_errors(
    system: Registry, stipends: Stipends
) -> None:
    page = requests.Session()
    form = page.get(f"{system.url}/apply", timeout=30)
    accented = page.post(
        f"{system.url}/apply", timeout=30, data={"csrf": "é", "email": "x"}
    )
    assert accented.status_code == 400 and form.status_code == 200
    finance, home, _ = signed_in_staff(system, "finance.odd@example.org", ["finance"])
    bad_run = finance.post(
        f"{system.url}/finance/payouts/{'0' * 8}",
        timeout=30,
        data={"csrf": csrf(home), "run_id": "x\r\nLocation: //evil", "action": "retry"},
    )
    assert bad_run.status_code == 400
    programme = stipends.call(
        "create_programme",
        ADMIN_A,
        {
            "name": "Odd",
            "currency": "EUR",
            "budget_minor": 1000,
            "tier_amounts": {"professional": 100, "volunteer": 0},
            "min_accepted_reports": 1,
            "min_conversations": 1,
        },
    )["id"]
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme, "2026-12", future)["id"]
    still_open = finance.post(
        f"{system.url}/finance/cycles/{cycle}/runs",
        timeout=30,
        data={"csrf": csrf(home)},
    )
    assert (
        still_open.status_code == 409
        and "Закройте цикл, прежде чем платить по нему" in still_open.text
    )
    # shown on the finance home it came from, with its cycles and runs, not alone
    assert 'id="error"' in still_open.text and 'id="finance-tasks"' in still_open.text


def test_a_communicator_turns_on_a_second_factor(system: Registry) -> None:
    _, data = apply(system)
    browser, _ = sign_in(system, data["email"])
    page = browser.get(f"{system.url}/me/security?lang=en", timeout=30)
    offered = browser.post(
        f"{system.url}/me/security", timeout=30, data={"csrf": csrf(page.text)}
    )
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', offered.text).group(1)
    totp = pyotp.TOTP(secret)
    wrong = browser.post(
        f"{system.url}/me/security/confirm",
        timeout=30,
        data={"csrf": csrf(offered.text), "code": "000000"},
    )
    assert wrong.status_code == 400
    done = browser.post(
        f"{system.url}/me/security/confirm",
        timeout=30,
        data={"csrf": csrf(offered.text), "code": totp.now()},
    )
    assert done.status_code == 200 and 'id="second-factor-on"' in done.text
    again = browser.post(  # a session alone cannot swap the authenticator
        f"{system.url}/me/security", timeout=30, data={"csrf": csrf(done.text)}
    )
    assert again.status_code == 409 and 'id="totp-secret"' not in again.text
    _, no_code = sign_in(system, data["email"])
    assert no_code.status_code == 401
    _, with_code = sign_in(system, data["email"], code=next_code(totp))
    assert with_code.status_code == 303


def test_an_admin_records_a_training_and_sets_the_tier(system: Registry) -> None:
    ident = system.active()
    training = system.call(
        "create_training", ADMIN_A, {"title": "Hard talks", "held_on": "2026-11-02"}
    )["id"]
    admin, _ = signed_in_admin(system, "admin.tier@example.org")
    page = admin.get(f"{system.url}/admin/applications/{ident}?lang=en", timeout=30)
    assert (
        'id="tier" data-code="volunteer">Volunteer<' in page.text
        and "Hard talks" in page.text
        and 'id="training-form"' in page.text
    )
    early = admin.post(  # professional needs the training first: refused in place
        f"{system.url}/admin/applications/{ident}",
        timeout=30,
        data={"csrf": csrf(page.text), "step": "tier", "tier": "professional",
              "reason": "ready"},
    )  # fmt: skip
    assert early.status_code in (400, 409) and 'id="error"' in early.text
    recorded = admin.post(
        f"{system.url}/admin/applications/{ident}",
        timeout=30,
        data={"csrf": csrf(page.text), "step": "training", "training_id": training},
    )
    # back on the record, which says what was just done
    assert recorded.url.endswith(f"/admin/applications/{ident}?done=training")
    assert 'id="done" data-code="training"' in recorded.text
    done = admin.post(
        f"{system.url}/admin/applications/{ident}",
        timeout=30,
        data={"csrf": csrf(page.text), "step": "tier", "tier": "professional",
              "reason": "trained, a year of reports"},
    )  # fmt: skip
    assert 'id="tier" data-code="professional">Professional<' in done.text
    assert 'id="done" data-code="tier"' in done.text
    assert '<option value="professional" selected>' in done.text  # as it is now
    # the one seminar is recorded for them: not offered again
    assert 'id="training-form"' not in done.text
    assert 'id="trainings-all-done"' in done.text
    assert system.sql("SELECT tier FROM communicators WHERE id = :i", i=ident)[0][
        0
    ] == ("professional")


def test_a_communicator_in_a_bank_transfer_country_gives_bank_details(
    system: Registry,
) -> None:
    data = application(password=PASSWORD, country="GE", city="Tbilisi")
    ident = system.active(**data)
    browser, _ = sign_in(system, data["email"])
    home = browser.get(f"{system.url}/me?lang=en", timeout=30)
    setup = browser.post(
        f"{system.url}/me/payout-setup", timeout=30, data={"csrf": csrf(home.text)}
    )
    assert 'id="bank-details"' in setup.text
    bad = browser.post(
        f"{system.url}/me/bank-details",
        timeout=30,
        data={
            "csrf": csrf(home.text),
            "holder": "Irina P.",
            "iban": "GE00 NOT AN IBAN 000000",
            "bic": "BAGAGE22",
        },
    )
    assert bad.status_code == 400 and 'id="error"' in bad.text
    assert "GE00NOTANIBAN000000" not in bad.text  # never echoed back
    saved = browser.post(
        f"{system.url}/me/bank-details",
        timeout=30,
        data={
            "csrf": csrf(home.text),
            "holder": "Irina P.",
            "iban": "GE29 NB00 0000 0101 9049 17",
            "bic": "bagage22",
        },
    )
    assert saved.status_code == 200 and 'id="bank-saved"' in saved.text
    assert "GE29" not in saved.text
    (row,) = system.sql(
        "SELECT status, destination_ct FROM payout_accounts WHERE communicator_id = :i",
        i=ident,
    )
    assert row[0] == "ready" and "GE29" not in row[1]  # stored encrypted


def test_a_reconciliation_run_before_its_period_ended_is_run_again_to_sign_off(
    system: Registry, stipends: Stipends
) -> None:
    """Payments booked after such a run are not in it, and once signed off none of
    them could be reconciled: the page offers no sign-off and says to run the period
    again; the service refuses it too; the run made again is signed off."""
    finance, _, _ = signed_in_staff(system, "early.one@example.org", ["finance"])
    listing = finance.get(f"{system.url}/finance/reconciliations", timeout=30)
    form = {
        "csrf": csrf(listing.text),
        "provider": "bank_file",
        "period_start": "2026-06-01",
        "period_end": "2026-07-01",
        "source": "bank_statement",
    }
    statement = (
        f"reference,amount,currency,status\npayout:{uuid.uuid4()},4.50,EUR,booked\n"
    )
    upload = {"file": ("statement.csv", statement.encode(), "text/csv")}

    def reconciled_and_resolved() -> tuple[str, str]:
        """(the reconciliation's id, its page), its one difference written off."""
        made = finance.post(
            f"{system.url}/finance/reconciliations", timeout=30, data=form, files=upload
        )
        rec = made.url.rsplit("/", 1)[1]
        (item,) = re.findall(r'name="item" value="(\d+)"', made.text)
        finance.post(
            f"{system.url}/finance/reconciliations/{rec}/resolve",
            timeout=30,
            data={
                "csrf": csrf(made.text),
                "item": item,
                "action": "write_off",
                "reason": "a test line from the bank",
            },
        )
        return rec, made.text

    rec, made = reconciled_and_resolved()
    # run after its period: signable, by a second person (the one who ran it is told)
    assert 'id="not-signable" data-code="segregation"' in made
    # as if it had been run on the period's last day
    stipends.sql(
        "UPDATE reconciliations SET created_at = '2026-06-30 12:00+00' WHERE id = :r",
        r=rec,
    )
    second, _, _ = signed_in_staff(system, "early.two@example.org", ["finance"])
    shown = second.get(f"{system.url}/finance/reconciliations/{rec}", timeout=30)
    assert 'id="not-signable" data-code="run_before_period_end"' in shown.text
    assert "последний день — 30 июн. 2026\u202fг." in shown.text
    assert 'id="sign-off"' not in shown.text
    assert '<a href="/finance/reconciliations">' in shown.text  # where to run it again
    refused = second.post(
        f"{system.url}/finance/reconciliations/{rec}/sign-off",
        timeout=30,
        data={"csrf": csrf(shown.text), "note": "checked", "confirmed": "yes"},
    )
    assert refused.status_code == 409
    assert "запущена до конца своего периода" in refused.text
    assert stipends.sql("SELECT status FROM reconciliations WHERE id = :r", r=rec) == [
        ("open",)
    ]
    listed = second.get(f"{system.url}/finance/reconciliations", timeout=30).text
    assert 'class="next-step" data-code="run_again"' in listed  # the list says so
    rerun, again = reconciled_and_resolved()
    assert rerun != rec and 'data-code="segregation"' in again
    listed = second.get(f"{system.url}/finance/reconciliations", timeout=30).text
    assert 'class="next-step" data-code="sign_off"' in listed
    assert "Готова к утверждению вторым сотрудником" in listed
    shown = second.get(f"{system.url}/finance/reconciliations/{rerun}", timeout=30)
    assert 'id="sign-off"' in shown.text
    signed = second.post(
        f"{system.url}/finance/reconciliations/{rerun}/sign-off",
        timeout=30,
        data={"csrf": csrf(shown.text), "note": "checked", "confirmed": "yes"},
    )
    assert 'id="rec-status" data-code="signed_off"' in signed.text
    assert stipends.sql(
        "SELECT id::text, status FROM reconciliations ORDER BY created_at"
    ) == [(rec, "superseded"), (rerun, "signed_off")]


def test_finance_reconciles_a_statement_resolves_in_bulk_and_a_second_person_signs(
    system: Registry, stipends: Stipends
) -> None:
    finance, home, _ = signed_in_staff(system, "recon.one@example.org", ["finance"])
    assert 'href="/finance/reconciliations"' in home
    listing = finance.get(f"{system.url}/finance/reconciliations?lang=en", timeout=30)
    assert listing.status_code == 200 and 'id="reconcile"' in listing.text
    unknown = [f"payout:{uuid.uuid4()}" for _ in range(3)]
    statement = "reference,amount,currency,status\n" + "".join(
        f"{ref},{n + 1}.50,EUR,booked\n" for n, ref in enumerate(unknown)
    )
    form = {
        "csrf": csrf(listing.text),
        "provider": "bank_file",
        "period_start": "2026-10-01",
        "period_end": "2026-11-01",
        "source": "bank_statement",
    }
    bad = finance.post(
        f"{system.url}/finance/reconciliations",
        timeout=30,
        data={**form, "period_end": "2026-09-01"},
    )
    assert bad.status_code == 400 and "The period must end after it starts" in bad.text
    made = finance.post(
        f"{system.url}/finance/reconciliations",
        timeout=30,
        data=form,
        files={"file": ("statement.csv", statement.encode(), "text/csv")},
    )
    assert made.status_code == 200 and 'id="rec-differences">3<' in made.text
    rec = made.url.rsplit("/", 1)[1]
    items = re.findall(r'name="item" value="(\d+)"', made.text)
    assert len(items) == 3 and made.text.count("unexpected_at_provider") >= 3
    # a line no payout claims is named as the bank's file numbers it, with the
    # reference the bank wrote on it
    assert f"Statement line 2: {unknown[0]}" in made.text
    assert ">line:2" not in made.text
    # repay is not for a line that names none of our payouts: nothing changes
    refused = finance.post(
        f"{system.url}/finance/reconciliations/{rec}/resolve",
        timeout=30,
        data={
            "csrf": csrf(made.text),
            "item": items,
            "action": "repay",
            "reason": "x y z",
        },
    )
    assert (
        refused.status_code == 409
        and "This action does not fit a ticked difference" in refused.text
    )
    assert (
        stipends.sql("SELECT count(*) FROM reconciliation_items WHERE state = 'open'")[
            0
        ][0]
        == 3
    )
    done = finance.post(
        f"{system.url}/finance/reconciliations/{rec}/resolve",
        timeout=30,
        data={
            "csrf": csrf(made.text),
            "item": items[:2],
            "action": "write_off",
            "reason": "test lines from the bank",
        },
    )
    assert done.status_code == 200 and 'id="rec-open">1<' in done.text
    early = finance.post(
        f"{system.url}/finance/reconciliations/{rec}/sign-off",
        timeout=30,
        data={"csrf": csrf(done.text), "note": "checked", "confirmed": "yes"},
    )
    assert early.status_code == 409 and "still open" in early.text
    finance.post(
        f"{system.url}/finance/reconciliations/{rec}/resolve",
        timeout=30,
        data={
            "csrf": csrf(done.text),
            "item": items[2],
            "action": "write_off",
            "reason": "the third test line",
        },
    )
    own = finance.post(
        f"{system.url}/finance/reconciliations/{rec}/sign-off",
        timeout=30,
        data={"csrf": csrf(done.text), "note": "checked", "confirmed": "yes"},
    )
    assert own.status_code == 403 and "second finance person" in own.text
    second, page, _ = signed_in_staff(system, "recon.two@example.org", ["finance"])
    shown = second.get(f"{system.url}/finance/reconciliations/{rec}", timeout=30)
    noteless = second.post(  # said at once, on the page: no confirmation first
        f"{system.url}/finance/reconciliations/{rec}/sign-off",
        timeout=30,
        data={"csrf": csrf(shown.text), "note": ""},
    )
    assert noteless.status_code == 400 and 'id="confirm"' not in noteless.text
    assert "Напишите в заметке" in noteless.text  # the field that is missing
    signed = second.post(
        f"{system.url}/finance/reconciliations/{rec}/sign-off",
        timeout=30,
        data={
            "csrf": csrf(shown.text),
            "note": "all three checked with the bank",
            "confirmed": "yes",
        },
    )
    assert (
        signed.status_code == 200
        and 'id="rec-status" data-code="signed_off">Подписана<' in signed.text
    )
    assert 'id="resolve"' in signed.text and 'name="item"' not in signed.text
    # the first finance person sees who signed it off, by name, and when (UTC)
    ((signer,),) = system.sql(
        "SELECT id::text FROM accounts WHERE kind = 'staff' ORDER BY created_at DESC "
        "LIMIT 1"
    )
    system.call("rename_staff", ADMIN_A, signer, "Vera (finance)", caller="gateway")
    seen = finance.get(
        f"{system.url}/finance/reconciliations/{rec}?lang=en", timeout=30
    )
    assert re.search(
        r'id="rec-signed">[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d UTC · '
        r"Vera \(finance\) · "
        r"all three checked with the bank<",
        seen.text,
    )

    csv_file = second.get(
        f"{system.url}/finance/reconciliations/{rec}/items.csv", timeout=30
    )
    lines = csv_file.text.splitlines()
    assert lines[0].startswith("item_id,kind,state,payout_id")
    assert len(lines) == 4 and all(",written_off," in line for line in lines[1:])
    assert {line.split(",")[8] for line in lines[1:]} == {"1.50", "2.50", "3.50"}
    xlsx = second.get(
        f"{system.url}/finance/reconciliations/{rec}/items.xlsx", timeout=30
    )
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["summary", "differences"]
    summary = {r[0].value: r[1].value for r in book["summary"].iter_rows()}
    assert summary["status"] == "signed_off" and summary["differences"] == 3
    assert book["differences"].max_row == 4


def test_an_admin_suspends_reinstates_and_offboards_from_the_record(
    system: Registry,
) -> None:
    """The record offers the steps its status allows; a suspension signs the person
    out at once, and each step is refused without a reason."""
    data = application(password=PASSWORD)
    ident = system.active(**data)
    member, _ = sign_in(system, data["email"])
    assert member.get(f"{system.url}/me", timeout=30).status_code == 200
    admin, _ = signed_in_admin(system, "admin.steps@example.org")
    url = f"{system.url}/admin/applications/{ident}?lang=en"

    def status() -> str:
        return system.sql("SELECT status FROM communicators WHERE id = :i", i=ident)[0][
            0
        ]

    def offered(page: requests.Response) -> list[str]:
        steps = re.findall(r'<button name="step" value="([a-z_]+)"', page.text)
        return [s for s in steps if s not in ("training", "tier", "club")]

    def step(name: str, reason: str = "a reason given") -> requests.Response:
        page = admin.get(url, timeout=30)
        return admin.post(
            f"{system.url}/admin/applications/{ident}",
            timeout=30,
            data={
                "csrf": csrf(page.text),
                "step": name,
                "reason": reason,
                "confirmed": "yes",  # rejecting and offboarding ask first
            },
        )

    page = admin.get(url, timeout=30)
    assert offered(page) == ["suspend", "offboard"] and ">Suspend<" in page.text
    refused = step("suspend", "")
    assert refused.status_code == 400 and 'id="error"' in refused.text
    assert status() == "active"
    step("suspend", "reports copied from another")
    assert status() == "suspended"
    gone = member.get(f"{system.url}/me", timeout=30, allow_redirects=False)
    assert gone.status_code == 303 and gone.headers["Location"] == "/sign-in"
    assert offered(admin.get(url, timeout=30)) == ["reinstate", "offboard"]
    step("reinstate", "explained and corrected")
    assert status() == "active"
    step("offboard", "moved on")
    assert status() == "offboarded"
    assert offered(admin.get(url, timeout=30)) == []


def test_an_admin_puts_a_communicator_into_a_club_from_their_record(
    system: Registry,
) -> None:
    """The record shows the club and offers every club; the club's page lists its
    members; the trail says who moved them; a bad choice is refused in place."""
    club = system.call(
        "create_club",
        ADMIN_A,
        {"name": "Riga Readers", "country": "LV", "city": "Riga", "mode": "offline"},
    )["id"]
    person = application()
    ident = system.active(**person)
    admin, _ = signed_in_admin(system, "admin.clubs@example.org")
    record = f"{system.url}/admin/applications/{ident}"
    page = admin.get(f"{record}?lang=en", timeout=30)
    assert 'id="club" data-club="">No club<' in page.text
    assert f'<option value="{club}">Riga Readers · LV, Riga</option>' in page.text

    moved = admin.post(
        f"{record}?lang=en",
        timeout=30,
        data={"csrf": csrf(page.text), "step": "club", "club_id": club},
    )
    assert moved.status_code == 200  # (the redirect, followed)
    assert f'id="club" data-club="{club}"><a href="/admin/clubs/{club}">' in moved.text
    assert "Changed the club: Riga Readers" in moved.text
    members = admin.get(f"{system.url}/admin/clubs/{club}?lang=en", timeout=30)
    assert f'<a href="/admin/applications/{ident}">{person["pseudonym"]}</a>' in (
        members.text
    )
    clubs = admin.get(f"{system.url}/admin/clubs?lang=en", timeout=30)
    assert f'href="/admin/clubs/{club}"' in clubs.text

    unknown = admin.post(
        f"{record}?lang=en",
        timeout=30,
        data={"csrf": csrf(page.text), "step": "club", "club_id": str(uuid.uuid4())},
    )
    assert unknown.status_code == 404 and "This club was not found" in unknown.text
    out = admin.post(
        f"{record}?lang=en",
        timeout=30,
        data={"csrf": csrf(page.text), "step": "club", "club_id": ""},
    )
    assert 'id="club" data-club="">No club<' in out.text
    assert "Changed the club: No club" in out.text
    empty = admin.get(f"{system.url}/admin/clubs/{club}?lang=ru", timeout=30)
    assert person["pseudonym"] not in empty.text
    assert "Участников пока нет." in empty.text
    assert system.sql(
        "SELECT club_id FROM club_changes WHERE communicator_id = :i ORDER BY id",
        i=ident,
    ) == [(uuid.UUID(club),), (None,)]
    nowhere = admin.get(f"{system.url}/admin/clubs/{uuid.uuid4()}", timeout=30)
    assert nowhere.status_code == 404


def test_admins_see_staff_by_the_name_given_at_the_invitation(
    system: Registry,
) -> None:
    """The staff list, the coordinator picker and the trails name staff; a name is
    asked for at the invitation, changed on the staff page, and never doubled."""
    admin, _ = signed_in_admin(system, "admin.names@example.org")
    staff = admin.get(f"{system.url}/admin/staff?lang=en", timeout=30)
    invite = {"csrf": csrf(staff.text), "roles": ["club_coordinator"]}
    nameless = admin.post(
        f"{system.url}/admin/staff?lang=en",
        timeout=30,
        data={**invite, "email": "olga.c@example.org", "handle": ""},
    )
    assert nameless.status_code == 400
    assert re.search(
        r'<input name="handle"[^>]*aria-invalid="true"[^>]*>\s*</label>\s*'
        r'<p class="field-error" id="error-handle">Give at least 2 characters.</p>',
        nameless.text,
    ), nameless.text
    # every refused field at once, each with its words next to it
    nothing_right = admin.post(
        f"{system.url}/admin/staff?lang=en",
        timeout=30,
        data={"csrf": csrf(staff.text), "email": "olga@", "handle": "o@x.org"},
    )
    assert nothing_right.status_code == 400
    faults = r'<p class="field-error" id="error-(\w+)">([^<]+)</p>'
    assert dict(re.findall(faults, nothing_right.text)) == {
        "email": "Give an email address such as name@example.org.",
        "handle": "Give a name of 2 to 40 characters that is not an email address.",
        "roles": "Fill in this field.",
    }
    invited = admin.post(
        f"{system.url}/admin/staff?lang=en",
        timeout=30,
        data={**invite, "email": "olga.c@example.org", "handle": "Olga (Riga club)"},
    )
    assert invited.status_code == 200 and "valid for 72 hours" in invited.text
    assert "Olga (Riga club)" in invited.text
    twice = admin.post(
        f"{system.url}/admin/staff?lang=en",
        timeout=30,
        data={**invite, "email": "olga.d@example.org", "handle": "olga (riga CLUB)"},
    )
    assert twice.status_code == 400 and "Another staff member has this name" in (
        twice.text
    )
    ((olga,),) = system.sql("SELECT id FROM accounts WHERE handle = 'Olga (Riga club)'")
    # invited from the English page: her invitation (and reset mails) in English
    assert 'name="language" value="en" checked' in staff.text
    assert system.sql("SELECT language FROM accounts WHERE id = :i", i=olga) == [
        ("en",)
    ]
    renamed = admin.post(
        f"{system.url}/admin/staff/{olga}?lang=en",
        timeout=30,
        data={"csrf": csrf(staff.text), "action": "rename", "handle": "Olga K."},
    )
    assert renamed.status_code == 200 and "Olga K." in renamed.text

    # she accepts the invitation: the clubs page offers her by name
    reset_id = system.events("account.password_reset_requested.v1")[-1]["data"][
        "reset_id"
    ]
    token = system.call("issue_password_reset", reset_id, caller="notifications")
    system.call("reset_password", token["token"], PASSWORD, caller="gateway")
    club = system.call(
        "create_club", ADMIN_A, {"name": "Riga Club", "country": "LV", "mode": "online"}
    )["id"]
    clubs = admin.get(f"{system.url}/admin/clubs?lang=en", timeout=30)
    assert f'<option value="{olga}">Olga K. · last sign-in never</option>' in (
        clubs.text
    )
    named = admin.post(
        f"{system.url}/admin/clubs/{club}/coordinator?lang=en",
        timeout=30,
        data={"csrf": csrf(clubs.text), "action": "set", "account_id": str(olga)},
    )
    assert "Coordinator" in named.text and "Olga K. (Club coordinator)" in named.text


def test_the_front_page_sends_someone_signed_in_on_to_their_own(
    system: Registry,
) -> None:
    front = requests.get(f"{system.url}/", timeout=30, allow_redirects=False)
    assert front.status_code == 200 and 'href="/sign-in"' in front.text
    admin, _ = signed_in_admin(system, "admin.front@example.org")
    again = admin.get(f"{system.url}/", timeout=30, allow_redirects=False)
    assert again.status_code == 303
    assert again.headers["Location"] == "/admin/applications"


def test_a_staff_coordinator_finds_their_clubs_from_every_page(
    system: Registry, notifications: Any
) -> None:
    coordinator, landing, _ = signed_in_staff(
        system, "staff.coordinator@example.org", ["club_coordinator"]
    )
    for path in ("/me/inbox", "/me/preferences"):
        page = coordinator.get(f"{system.url}{path}?lang=en", timeout=30)
        assert page.status_code == 200, path
        assert '<a href="/coordinator">My clubs</a>' in page.text, path
