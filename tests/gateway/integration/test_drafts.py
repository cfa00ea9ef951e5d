"""Long forms keep a draft on the server: the report form's "Save the draft" (no
JavaScript) stores what was written, and the form shows it again when the person
comes back, in a new session too; submitting later sends that same report."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.gateway.conftest import Stipends, funded_programme, ready_payee
from tests.gateway.integration.test_console import PASSWORD, csrf, sign_in
from tests.registry.integration.conftest import ADMIN_A, Registry, application


def report(page: str, cycle: str, **changes: Any) -> dict[str, Any]:
    """The report form as the person fills it (`changes` replace fields), saved as
    a draft unless `action` says otherwise."""
    return {
        "csrf": csrf(page),
        "cycle_id": cycle,
        "report_id": "",
        "conversations": "5",
        "audiences": ["family", "colleagues"],
        "channels": "video",
        "topics": "prices, mobilisation",
        "hours": "4",
        "observed_change": "some",
        "narrative": "Half written: my aunt asked questions",
        "action": "save",
        **changes,
    }


def test_a_report_draft_is_saved_and_restored_when_the_person_comes_back(
    system: Registry, stipends: Stipends
) -> None:
    data = application(password=PASSWORD, country="DE", city="Jena")
    ready_payee(system, stipends, data)
    programme = funded_programme(stipends, 100_000, 25_000)
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme, "2026-12", deadline)["id"]
    browser, _ = sign_in(system, data["email"])
    form = browser.get(f"{system.url}/me/report?lang=en", timeout=30)
    # whom and how are asked for, marked as such, and their absence is named
    assert form.text.count("tick at least one") == 2
    missing = browser.post(
        f"{system.url}/me/report?lang=en",
        timeout=30,
        data=report(form.text, cycle, audiences=[], channels=[]),
    )
    assert missing.status_code == 400
    assert "correct those marked next to their fields" in missing.text
    assert 'id="error-audiences"' in missing.text
    assert 'id="error-channels"' in missing.text
    assert "numbers and dates" not in missing.text
    assert stipends.sql("SELECT status FROM activity_reports") == []
    saved = browser.post(
        f"{system.url}/me/report",
        timeout=30,
        data=report(form.text, cycle),
    )
    assert saved.status_code == 200
    assert stipends.sql("SELECT status FROM activity_reports") == [("draft",)]

    # another day, another session: the form comes back as it was left
    again, _ = sign_in(system, data["email"])
    back = again.get(f"{system.url}/me/report?lang=en", timeout=30).text
    (report_id,) = re.findall(r'name="report_id" value="([0-9a-f-]+)"', back)
    assert re.search(r'name="conversations"[^>]*value="5"', back)
    assert re.search(r'name="hours"[^>]*value="4"', back)
    assert 'value="family" checked' in back and 'value="colleagues" checked' in back
    assert 'value="friends" checked' not in back
    assert 'value="some" checked' in back
    assert "Half written: my aunt asked questions</textarea>" in back
    assert 'value="prices, mobilisation"' in back

    sent = again.post(
        f"{system.url}/me/report",
        timeout=30,
        data=report(
            back,
            cycle,
            report_id=report_id,
            narrative="My aunt asked questions and read what I sent.",
            action="submit",
        ),
    )
    assert sent.status_code == 200
    assert stipends.sql("SELECT status, conversations FROM activity_reports") == [
        ("submitted", 5)
    ]
