"""Each role lands on what needs them: the first page after sign-in shows the
person's waiting work with counts and links (gateway/waiting.py). Real registry,
stipends and gateway; counts checked against what the test put in the queues."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.gateway.conftest import Stipends, funded_programme, ready_payee
from tests.gateway.integration.test_api import REPORT
from tests.gateway.integration.test_console import (
    PASSWORD,
    csrf,
    enrol,
    sign_in,
    signed_in_staff,
)
from tests.helpers import actor
from tests.registry.integration.conftest import ADMIN_A, Registry, application


def count(page: str, key: str) -> int | None:
    """The count a landing page shows for a queue, or None: not shown."""
    found = re.search(rf'id="waiting-{key}" data-count="(\d+)"><a href="([^"]+)"', page)
    return int(found.group(1)) if found else None


def test_an_admin_and_finance_land_on_their_queues_with_counts(
    system: Registry, stipends: Stipends
) -> None:
    payee = ready_payee(
        system, stipends, application(password=PASSWORD, country="DE", city="Bonn")
    )
    system.applicant()  # one application waiting
    programme = funded_programme(stipends, 100_000, 25_000)
    deadline = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme, "2026-11", deadline)
    who = actor(["communicator"], payee)
    draft = stipends.call(
        "save_report_draft",
        who,
        cycle["id"],
        {
            "conversations": 2,
            "audiences": ["family"],
            "channels": ["video"],
            "hours": 1,
            "observed_change": "some",
            "narrative": "",
        },
    )
    stipends.call("submit_report", who, draft["report"]["id"])

    _, landing, _ = signed_in_staff(system, "vetting@example.org", ["program_admin"])
    assert '<section id="waiting"' in landing
    assert count(landing, "applications") == 1
    assert count(landing, "reports_to_review") == 1
    assert count(landing, "stipends_to_approve") == 0
    assert 'href="/admin/reports"' in landing
    assert count(landing, "runs_to_release") is None  # not an admin's queue

    finance, home, _ = signed_in_staff(system, "money@example.org", ["finance"])
    assert count(home, "runs_to_release") == 0
    assert count(home, "differences_open") == 0
    assert count(home, "receipt_problems_open") == 0
    assert count(home, "applications") is None and count(home, "reports") is None
    # the count RPC answers staff only
    with pytest.raises(Exception, match="role"):
        stipends.call("count_waiting_work", who)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_communicator_lands_on_the_report_due_and_their_payment(
    system: Registry, stipends: Stipends, lang: str
) -> None:
    data = application(password=PASSWORD, country="DE", city="Köln")
    payee = ready_payee(system, stipends, data)
    programme = funded_programme(stipends, 100_000, 25_000)
    deadline = datetime(2031, 1, 9, 12, tzinfo=UTC).isoformat()
    stipends.call("open_cycle", ADMIN_A, programme, "2030-12", deadline)
    browser, signed_in = sign_in(system, data["email"])
    assert signed_in.headers["Location"] == "/me"
    home = browser.get(f"{system.url}/me?lang={lang}", timeout=30).text
    due = re.search(
        r'<p id="waiting-report" data-code="due"><a href="/me/report">'
        r"([^<]+)</a>",
        home,
    )
    assert due, "the report due is shown with its link"
    assert {"ru": "декабрь 2030", "en": "December 2030"}[lang] in due.group(1)
    written = {"ru": "9 янв. 2031\u202fг., 12:00 UTC", "en": "Jan 9, 2031, 12:00 UTC"}
    assert written[lang] in due.group(1), due.group(1)
    said = {"ru": "нужно сдать до", "en": "is due by"}[lang]
    assert said in due.group(1)
    # the notifications service is not running here: the unread count is left out,
    # and the page says a count is missing instead of failing
    assert count(home, "unread") is None and 'id="waiting-unavailable"' in home
    assert payee not in home


def test_a_report_past_its_deadline_is_said_to_be_late(
    system: Registry, stipends: Stipends
) -> None:
    """The deadline passed and the cycle not closed: the landing says the report
    is late (and still taken), not that it is due by a moment already gone."""
    data = application(password=PASSWORD, country="DE", city="Bonn")
    payee = ready_payee(system, stipends, data)
    programme = funded_programme(stipends, 100_000, 25_000)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    stipends.call("open_cycle", ADMIN_A, programme, "2026-11", past)
    browser, _ = sign_in(system, data["email"])
    home = browser.get(f"{system.url}/me?lang=en", timeout=30).text
    late = re.search(
        r'<p id="waiting-report" data-code="late"><a href="/me/report">([^<]+)</a>',
        home,
    )
    assert late, "the late report is shown with its link"
    assert "is late: it was due by" in late.group(1)
    assert "for November 2026" in late.group(1)
    assert 'data-code="due"' not in home

    # a late report sent, the page lists it and says the form is another report
    # (an outside reading: an empty form under nothing, and a second draft made)
    who = actor(["communicator"], payee)
    (cycle,) = stipends.call("list_cycles", who)
    draft = stipends.call("save_report_draft", who, cycle["id"], REPORT)
    stipends.call("submit_report", who, draft["report"]["id"])
    page = browser.get(f"{system.url}/me/report?lang=en", timeout=30).text
    assert f'id="report-{draft["report"]["id"]}"' in page
    assert 'id="another-report"' in page and 'name="report_id" value=""' in page
    assert "starts another report for this cycle" in page


def test_with_two_cycles_open_a_communicator_reports_for_either(
    system: Registry, stipends: Stipends
) -> None:
    """Last month not closed yet and this month open: the report page starts on the
    earlier deadline and links the other; each form saves into its own cycle."""
    data = application(password=PASSWORD, country="DE", city="Mainz")
    payee = ready_payee(system, stipends, data)
    programme = funded_programme(stipends, 100_000, 25_000)
    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    earlier = stipends.call("open_cycle", ADMIN_A, programme, "2026-11", soon)
    current = stipends.call("open_cycle", ADMIN_A, programme, "2026-12", later)
    browser, _ = sign_in(system, data["email"])
    first = browser.get(f"{system.url}/me/report?lang=ru", timeout=30).text
    assert f'name="cycle_id" value="{earlier["id"]}"' in first
    assert f'href="/me/report?cycle={current["id"]}">декабрь 2026<' in first
    assert "Отчёты принимаются и за:" in first
    other = browser.get(f"{system.url}/me/report?cycle={current['id']}", timeout=30)
    assert f'name="cycle_id" value="{current["id"]}"' in other.text
    assert f'href="/me/report?cycle={earlier["id"]}">ноябрь 2026<' in other.text
    saved = browser.post(
        f"{system.url}/me/report",
        timeout=30,
        data={
            "csrf": csrf(other.text),
            "cycle_id": current["id"],
            "report_id": "",
            "conversations": "2",
            "audiences": "family",
            "channels": "video",
            "hours": "1",
            "observed_change": "some",
            "narrative": "",
            "action": "save",
        },
    )
    assert saved.status_code == 200  # the page stays on the cycle it saved into
    assert f'name="cycle_id" value="{current["id"]}"' in saved.text
    who = actor(["communicator"], payee)
    (report,) = stipends.call("list_reports", who, current["id"])
    assert stipends.call("list_reports", who, earlier["id"]) == []
    # sent back for changes, it is what the page opens on, not the earlier month
    stipends.call("submit_report", who, report["id"])
    stipends.call(
        "review_report", ADMIN_A, report["id"], "changes_requested", "say more"
    )
    back = browser.get(f"{system.url}/me/report?lang=en", timeout=30).text
    assert f'name="cycle_id" value="{current["id"]}"' in back
    assert f'name="report_id" value="{report["id"]}"' in back

    # sent, then changed before the deadline: the same report, still sent
    def send(page: str, conversations: str) -> requests.Response:
        report_id = re.search(r'name="report_id" value="([^"]*)"', page).group(1)
        return browser.post(
            f"{system.url}/me/report",
            timeout=30,
            data={
                "csrf": csrf(page),
                "cycle_id": current["id"],
                "report_id": report_id,
                "conversations": conversations,
                "audiences": "family",
                "channels": "video",
                "hours": "1",
                "observed_change": "some",
                "narrative": "",
                "action": "submit",
            },
        )

    sent = send(saved.text, "3")
    assert sent.status_code == 200 and 'id="editing-sent"' in sent.text
    changed = send(sent.text, "5")
    assert changed.status_code == 200, changed.text
    (report,) = stipends.call("list_reports", who, current["id"])
    assert (report["status"], report["conversations"]) == ("submitted", 5)


def test_a_coordinator_without_a_communicator_account_lands_on_their_clubs(
    system: Registry,
) -> None:
    email = "club.lead@example.org"
    system.call(
        "create_staff_account",
        ADMIN_A,
        {"email": email, "roles": ["club_coordinator"], "password": PASSWORD},
    )
    browser, enroll = sign_in(system, email)
    # a coordinator reads their members' strategies: a second factor, as all staff
    assert enroll.status_code == 200 and 'id="totp-secret"' in enroll.text
    signed_in, _ = enrol(system, browser, enroll)
    assert signed_in.headers["Location"] == "/coordinator"  # not /me: not theirs
    home = browser.get(f"{system.url}/coordinator", timeout=30).text
    assert 'data-page="coordinator"' in home
    assert count(home, "clubs") == 0
    assert browser.get(f"{system.url}/me", timeout=30).status_code == 403
