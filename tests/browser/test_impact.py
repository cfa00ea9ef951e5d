"""What the programme achieves, in a real browser against the running system with
JavaScript off: an admin opens a cycle's figures (charts as SVG with their tables),
groups them by club, downloads them as CSV and XLSX and opens the printable report.
A club of two shows its figures hidden, never its counts, and no page or file holds
a pseudonym, a personal value or a report's text (the shared leak scanner)."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from playwright.sync_api import Browser, expect

from tests.browser.test_oversight import signed_in_admin
from tests.helpers import actor, wait_until
from tests.journeys import ADMINS, REPORT, active_communicator, as_console
from tests.leaks import scan
from tests.stack import System

NARRATIVE = "Grandmother asked about the border crossing in Verkhny Lars."


def cycle_with_a_small_club(system: System, tag: str) -> dict[str, Any]:
    """Six communicators in a club in Georgia and two in one in Armenia, each with
    an accepted report in one cycle."""
    with system.rpc() as rpc:
        big = rpc.registry.create_club(
            ADMINS[0], {"name": f"North {tag}", "country": "GE", "mode": "offline"}
        )
        small = rpc.registry.create_club(
            ADMINS[0], {"name": f"South {tag}", "country": "AM", "mode": "online"}
        )
        people = [
            active_communicator(system, rpc, club_id=club["id"], city="Gyumri")
            for club in [big] * 6 + [small] * 2
        ]
        programme = rpc.stipends.create_programme(
            ADMINS[0],
            {
                "name": f"Impact {tag}",
                "currency": "EUR",
                "budget_minor": 500_000,
                "tier_amounts": {"professional": 25_000, "volunteer": 0},
                "min_accepted_reports": 1,
                "min_conversations": 1,
            },
        )
        deadline = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        cycle = rpc.stipends.open_cycle(ADMINS[0], programme["id"], "2026-11", deadline)
        for person in people:
            communicator = actor(["communicator"], person["id"])
            with as_console():
                draft = rpc.stipends.save_report_draft(
                    communicator,
                    cycle["id"],
                    {**REPORT, "narrative": NARRATIVE, "topics": ["Grandmother's TV"]},
                )
                rpc.stipends.submit_report(communicator, draft["report"]["id"])
            rpc.stipends.review_report(ADMINS[0], draft["report"]["id"], "accepted", "")
    wait_until(
        lambda: (
            system.sql(
                "insights",
                "SELECT count(*) FROM reports"
                " WHERE cycle_id = :c AND status = 'accepted'",
                c=cycle["id"],
            )[0][0]
            == 8
        ),
        "the insights read model to have the eight accepted reports",
        timeout=60,
    )
    return {"cycle": cycle, "programme": programme, "people": people}


def personal_values(made: dict[str, Any]) -> list[str]:
    values = [NARRATIVE, "Grandmother's TV", "Gyumri"]
    for person in made["people"]:
        values += [person["pseudonym"], person["email"], person["legal_name"]]
        values.append(person["id"])
    return values


def test_an_admin_sees_a_cycle_s_charts_and_downloads_them(
    system: System, browser: Browser, shots: Any, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    made = cycle_with_a_small_club(system, tag)
    cycle = made["cycle"]["id"]
    page = signed_in_admin(system, browser)
    seen: dict[str, list[str]] = {}

    page.click("nav a[href='/admin/impact']")
    expect(page.locator(f"a[href='/admin/impact/cycles/{cycle}']")).to_be_visible()
    page.click(f"a[href='/admin/impact/cycles/{cycle}']")
    expect(page.locator("h1")).to_contain_text("November 2026")  # the period
    chart = page.locator("#figure-reports svg[role=img]")
    expect(chart).to_be_visible()
    assert chart.locator("title").text_content() == "Reports by outcome"
    # by country of the club: Armenia's 2 reports are hidden, and Georgia's 6 with
    # them (else 8 - 6 would give the 2 away); the total of 8 is shown
    assert "Armenia hidden" in (chart.locator("desc").text_content() or "")
    reports = page.locator("#table-reports")
    for country in ("Armenia", "Georgia"):  # by name, not code
        row = reports.locator("tbody tr", has=page.locator("th", has_text=country))
        assert set(row.locator("td").all_inner_texts()) == {"hidden"}, country
    expect(reports.locator("tfoot td").first).to_have_text("8")
    video = page.locator(
        "#table-mentions tr", has=page.locator("th", has_text="Video call")
    )
    expect(video.locator("td")).to_have_text("8")
    expect(page.locator("#suppression-note")).to_contain_text("fewer than 5")
    shots(page, "cycle-by-country")
    seen["cycle page"] = [page.content()]

    # by club: the small club's name is shown, its counts are not
    page.click("a[href='?dimension=club']")
    small = page.locator(
        "#table-reports tbody tr", has=page.locator("th", has_text=f"South {tag}")
    )
    expect(small).to_be_visible()
    assert set(small.locator("td").all_inner_texts()) == {"hidden"}
    cells = "".join(small.locator("td").all_inner_texts())
    assert not any(ch.isdigit() for ch in cells)  # no count of the club of two
    seen["by club"] = [page.content()]

    with page.expect_download() as downloading:
        page.click("#download-csv")
    csv_file = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(csv_file)
    text = csv_file.read_text()
    assert text.startswith("Figure,Club,Column,Value")
    assert f"South {tag},Accepted,hidden" in text.replace('"', "")
    seen["csv"] = [text]

    with page.expect_download() as downloading:
        page.click("#download-xlsx")
    xlsx_file = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(xlsx_file)
    sheet = load_workbook(xlsx_file).active
    cells = [str(v) for row in sheet.iter_rows(values_only=True) for v in row]
    assert "hidden" in cells
    seen["xlsx"] = cells

    page.click("#printable")
    expect(page.locator("#cycle-report h1")).to_contain_text("November 2026")
    page.emulate_media(media="print")
    expect(page.locator("nav[aria-label='Main']")).to_be_hidden()
    page.emulate_media(media="screen")
    shots(page, "printable-report")
    seen["printable"] = [page.content()]

    page.goto(f"{system.url}/admin/impact/programmes/{made['programme']['id']}")
    expect(page.locator("#figure-reports_over_time svg[role=img]")).to_be_visible()
    seen["over time"] = [page.content()]

    # a phone's width: the chart fits the screen
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(f"{system.url}/admin/impact/cycles/{cycle}?lang=ru")
    expect(page.locator("#suppression-note")).to_contain_text("меньше 5")
    box = page.locator("#figure-reports svg").bounding_box()
    assert box is not None and box["width"] <= 360
    shots(page, "cycle-ru-360")
    seen["ru"] = [page.content()]

    found = scan(personal_values(made), seen)
    assert found.findings == [], found.findings
