"""Communication strategies and mentor feedback in a real browser with JavaScript
off: a professional communicator drafts and shares a strategy (a refused form keeps
what was typed and says what to fix at the field), their club's coordinator comments,
the communicator revises, writes a report against the new version, the coordinator
leaves feedback on it (the author is told, ids only on the bus) and the author
answers; another member of the same club sees none of it."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Browser, expect

from tests.helpers import wait_until
from tests.journeys import ADMINS, PASSWORD, active_communicator, enrol_on_page
from tests.stack import System

NOTE = "Start with my aunt's worries about prices"
COMMENT = "Six months is ambitious for your uncle: try three"
FEEDBACK = "Good choice to listen first; ask her one question next time"
ANSWER = "I will, thank you"


def professional_in_club(system: System) -> tuple[dict, dict, dict]:
    """(member, coordinator, peer): the member professional and trained, all
    three with a login; the coordinator coordinates the club the others are in."""
    with system.rpc() as rpc:
        coordinator = active_communicator(system, rpc, password=PASSWORD)
        club = rpc.registry.create_club(
            ADMINS[0],
            {
                "name": f"Tbilisi Mondays {uuid.uuid4().hex[:4]}",
                "country": "GE",
                "mode": "offline",
                "coordinator": coordinator["pseudonym"],
            },
        )["id"]
        member = active_communicator(system, rpc, password=PASSWORD, club_id=club)
        peer = active_communicator(system, rpc, password=PASSWORD, club_id=club)
        training = rpc.registry.create_training(
            ADMINS[0], {"title": "Listening", "held_on": "2026-10-01"}
        )
        rpc.registry.record_training_completion(ADMINS[0], training["id"], member["id"])
        rpc.registry.set_tier(ADMINS[0], member["id"], "professional", "trained")
        programme = rpc.stipends.create_programme(
            ADMINS[0],
            {
                "name": f"Strategies {uuid.uuid4().hex[:8]}",
                "currency": "EUR",
                "budget_minor": 0,
                "tier_amounts": {"professional": 20_000, "volunteer": 0},
                "min_accepted_reports": 1,
                "min_conversations": 1,
            },
        )
        deadline = (datetime.now(UTC) + timedelta(days=20)).isoformat()
        rpc.stipends.open_cycle(ADMINS[0], programme["id"], "2026-12", deadline)
    wait_until(
        lambda: system.sql(
            "stipends",
            "SELECT 1 FROM communicators WHERE id = :i AND tier = 'professional' "
            "AND status = 'active' AND club_id IS NOT NULL",
            i=member["id"],
        ),
        "the stipends read model to follow the registry",
    )
    return member, coordinator, peer


def signed_in(browser: Browser, system: System, email: str) -> Any:
    context = browser.new_context(
        java_script_enabled=False,
        viewport={"width": 390, "height": 844},
        locale="en-GB",
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if page.locator("#totp-secret").count():  # a coordinator: their first sign-in
        enrol_on_page(page)
    expect(page.locator("nav a[href='/me/strategy']")).to_be_visible()
    return page


def test_a_strategy_discussed_revised_reported_against_and_fed_back(
    system: System, browser: Browser, shots: Any
) -> None:
    member, coordinator, peer = professional_in_club(system)

    # the member drafts: a form missing its required parts keeps what was typed
    me = signed_in(browser, system, member["email"])
    me.click("nav a[href='/me/strategy']")
    expect(me.locator("h1")).to_have_text("My strategy and feedback")
    me.fill("input[name=topics]", "prices, mobilisation")
    me.click("button[value=share]")
    for field in ("audiences", "approaches", "expected_change", "horizon_months"):
        error = me.locator(f"#error-{field}.field-error")
        expect(error).to_be_visible()
        expect(me.locator(f"#{field}")).to_have_attribute(
            "aria-describedby", f"error-{field}"
        )
    expect(me.locator("#error-expected_change")).to_contain_text("in a sentence")
    expect(me.locator("input[name=topics]")).to_have_value("prices, mobilisation")
    shots(me, "refused-at-the-fields")
    me.check("input[name=audiences][value=family]")
    me.check("input[name=channels][value=video]")
    me.check("input[name=approaches][value=listening]")
    me.fill("textarea[name=expected_change]", "My uncle asks questions instead")
    me.fill("input[name=horizon_months]", "6")
    me.fill("textarea[name=note]", NOTE)
    me.click("button[value=share]")
    expect(me.locator("#done")).to_contain_text("Shared with your mentor")
    expect(me.locator("#version-1 .version-status")).to_have_attribute(
        "data-code", "shared"
    )
    shots(me, "shared")

    # the coordinator of their club sees it waiting, and comments
    mentor = signed_in(browser, system, coordinator["email"])
    mentor.click("nav a[href='/mentor']")
    row = mentor.locator(f"#mentee-{member['id']}")
    expect(row).to_contain_text("Yes")
    row.locator("a").click()
    expect(mentor.locator("#version-1 .strategy-note")).to_have_text(NOTE)
    # the version's terms name its parts; they do not address the reader as its author
    expect(mentor.locator("#version-1 dt").first).to_have_text(
        "Audiences (kinds, never people)"
    )
    mentor.locator("#versions textarea[name=comment]").fill(COMMENT)
    mentor.locator("#versions button[type=submit]").click()
    expect(mentor.locator("#done")).to_be_visible()
    # sent back to the page itself (a GET): reloading it posts nothing again
    expect(mentor).to_have_url(re.compile(rf"/mentor/{member['id']}\?done=commented$"))
    shots(mentor, "commented")
    # a long comment in lines, within the form's 2,000 characters, is taken: the
    # browser counts a line break as one character and sends it as two
    comment = mentor.locator("#versions textarea[name=comment]")
    long_comment = "\n".join(f"{n:02d} " + "y" * 96 for n in range(20))  # 1,999
    comment.evaluate("(box, text) => { box.value = text; }", long_comment)
    mentor.locator("#versions button[type=submit]").click()
    expect(mentor.locator("#done")).to_be_visible()
    expect(mentor.locator("#version-1 .messages")).to_contain_text("19 yyy")
    # and shown in its lines, as written
    shown = mentor.locator("#version-1 .messages .body").last
    expect(shown).to_have_css("white-space", "pre-line")
    # one beyond it (the browser's limit lifted) is refused at the field, the text
    # kept to shorten, the page still the signed-in mentor's
    comment.evaluate("box => box.removeAttribute('maxlength')")
    comment.fill("z" * 2001)
    mentor.locator("#versions button[type=submit]").click()
    expect(mentor.locator("#error-comment")).to_be_visible()
    expect(mentor.locator("#versions textarea[name=comment]")).to_have_value("z" * 2001)
    expect(mentor.locator("nav a[href='/mentor']")).to_be_visible()

    # the member reads it and revises: a new version, the first one kept
    me.goto(f"{system.url}/me/strategy")
    expect(me.locator("#version-1 .messages")).to_contain_text(COMMENT)
    me.fill("input[name=horizon_months]", "3")
    me.click("button[value=share]")
    expect(me.locator("#version-2 .version-status")).to_have_attribute(
        "data-code", "shared"
    )
    expect(me.locator("#version-1")).to_contain_text(COMMENT)
    shots(me, "revised")

    # a report against the strategy's new version
    me.click("nav a[href='/me/report']")
    expect(me.locator("#strategy-progress legend")).to_contain_text("version 2")
    me.fill("input[name=conversations]", "4")
    me.check("input[name=audiences][value=family]")
    me.check("input[name=channels][value=video]")
    me.fill("input[name=hours]", "5")
    me.check("input[name=observed_change][value=some]")
    me.fill("textarea[name=narrative]", "My aunt listened to the end this time.")
    me.check("input[name=strategy_progress][value=partly]")
    me.fill("textarea[name=strategy_note]", "Aunt yes, uncle not yet")
    me.click("button[value=submit]")
    expect(me.locator(".report .report-status")).to_have_attribute(
        "data-code", "submitted"
    )
    expect(me.locator(".report")).to_contain_text("Partly")

    # the mentor's feedback on it, which the author is told of and answers
    mentor.goto(f"{system.url}/mentor/{member['id']}")
    thread = mentor.locator(".report-thread")
    expect(thread.locator(".against-strategy")).to_contain_text("version 2: Partly")
    thread.locator("textarea[name=feedback]").fill(FEEDBACK)
    thread.locator("button[type=submit]").click()
    expect(mentor.locator("#done")).to_contain_text("The communicator is told")
    shots(mentor, "feedback")
    wait_until(
        lambda: system.sql(
            "notifications",
            "SELECT 1 FROM inbox_messages WHERE recipient_id = :i "
            "AND template = 'report_feedback'",
            i=member["id"],
        ),
        "the author to be told of the feedback",
    )
    me.goto(f"{system.url}/me/strategy")
    thread = me.locator(".report-thread")
    expect(thread.locator(".messages")).to_contain_text(FEEDBACK)
    thread.locator("textarea[name=feedback]").fill(ANSWER)
    thread.locator("button[type=submit]").click()
    expect(me.locator(".report-thread .messages li")).to_have_count(2)
    expect(me.locator(".report-thread .messages")).to_contain_text(ANSWER)
    # one's own message is "You", the mentor's says the role it was written in
    # (their club's coordinator here); the mentor sees it the other way round
    expect(me.locator(".report-thread .messages li.own strong")).to_have_text("You")
    expect(me.locator(".report-thread .messages li.from-mentor strong")).to_have_text(
        "Club coordinator"
    )
    mentor.goto(f"{system.url}/mentor/{member['id']}")
    expect(mentor.locator(".report-thread .messages li.own strong")).to_have_text("You")
    expect(mentor.locator(".report-thread .messages li:not(.own) strong")).to_have_text(
        "Communicator"
    )
    shots(me, "answered")
    me.goto(f"{system.url}/me/strategy?lang=ru")  # the same page in Russian
    expect(me.locator("h1")).to_have_text("Моя стратегия и отзывы")
    expect(me.locator("#version-2 .version-status")).to_have_text(
        "Отправлена наставнику"
    )
    shots(me, "in-russian")

    # another member of the same club: nothing of it, anywhere
    other = signed_in(browser, system, peer["email"])
    other.click("nav a[href='/me/strategy']")
    for said in (NOTE, COMMENT, FEEDBACK, ANSWER, member["pseudonym"]):
        assert said not in other.content()
    expect(other.locator("#professional-only")).to_be_visible()
    denied = other.goto(f"{system.url}/mentor/{member['id']}")
    assert denied is not None and denied.status == 403
    for path in ("strategy", "report-feedback"):
        response = other.context.request.get(
            f"{system.url}/api/v1/communicators/{member['id']}/{path}"
        )
        assert response.status == 404, response.text()
        assert NOTE not in response.text()
    # the bus carried ids only
    envelopes = system.sql(
        "stipends",
        "SELECT envelope::text FROM outbox "
        "WHERE envelope->>'event_type' = 'report.feedback_given.v1'",
    )
    assert envelopes and all(FEEDBACK not in row[0] for row in envelopes)
    for page in (me, mentor, other):
        page.context.close()
