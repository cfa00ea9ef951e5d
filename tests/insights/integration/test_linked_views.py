"""Every view an admin can open or download for a programme (each cycle grouped by
club, by country and by tier, and the programme over time; the CSV, XLSX, charts and
printable page are made from these same figures), fed by real events through the
broker into the database, read together: an LP attack on the reports pins no hidden
entry, where the tables suppressed one at a time would give one away."""

import uuid
from typing import Any

from svyaz.actors import ADMIN
from tests.helpers import actor
from tests.insights.integration.conftest import Insights, ago
from tests.insights.unit.test_linked import Micro, _cover, _one, attack, separately

COUNTRY = {"A": "GE", "B": "GE", "C": "AM"}
# (cycle, club, tier, outcome) -> reports. Georgia's club A has 2 rejected; by
# country Georgia's 8 rejected are shown, and B's 6 by club would give A's 2 away.
MICRO: Micro = {
    (0, "A", "volunteer", "accepted"): 5,
    (0, "A", "professional", "accepted"): 1,
    (0, "A", "volunteer", "rejected"): 2,
    (0, "B", "volunteer", "accepted"): 5,
    (0, "B", "volunteer", "rejected"): 6,
    (0, "C", "volunteer", "accepted"): 5,
    (0, "C", "volunteer", "rejected"): 5,
    (1, "B", "volunteer", "accepted"): 6,
    (1, "C", "professional", "rejected"): 2,
}


def feed(insights: Insights) -> dict[str, Any]:
    programme = uuid.uuid4()
    cycles = [uuid.uuid4(), uuid.uuid4()]
    clubs = {name: uuid.uuid4() for name in COUNTRY}
    sent = 0
    for n, cycle in enumerate(cycles):
        insights.publish(
            "cycle.opened.v1",
            "stipends",
            cycle_id=cycle,
            programme_id=programme,
            period=f"2026-0{n + 1}",
            deadline="2026-11-30T23:59:00+00:00",
        )
        sent += 1
    for (n, club, tier, outcome), count in MICRO.items():
        for _ in range(count):
            person, report = uuid.uuid4(), uuid.uuid4()
            insights.publish(
                "communicator.activated.v1",
                "registry",
                at=ago(20),
                communicator_id=person,
                club_id=clubs[club],
                club_country=COUNTRY[club],
            )
            insights.publish(
                "communicator.tier_changed.v1",
                "registry",
                at=ago(19),
                communicator_id=person,
                tier=tier,
            )
            insights.publish(
                "report.reviewed.v1",
                "stipends",
                at=ago(9),
                report_id=report,
                communicator_id=person,
                cycle_id=cycles[n],
                decision=outcome,
            )
            sent += 3
    insights.kept(sent)
    return {"programme": programme, "cycles": cycles, "clubs": clubs}


def test_all_views_together_pin_no_hidden_report_count(insights: Insights) -> None:
    made = feed(insights)
    admin = actor([ADMIN])
    club_name = {str(v): k for k, v in made["clubs"].items()}
    entries = []
    for n, cycle in enumerate(made["cycles"]):
        for dimension in ("club", "country", "tier"):
            view = insights.call(
                "get_cycle_impact",
                admin,
                {"cycle_id": str(cycle), "dimension": dimension},
            )
            (table,) = [t for t in view["tables"] if t["name"] == "reports"]
            columns = table["columns"]
            for i, row in enumerate(table["rows"]):
                row = club_name.get(row, row)
                for j in range(len(columns) + 1):
                    value = (
                        table["cells"][i][j]
                        if j < len(columns)
                        else table["row_totals"][i]
                    )
                    cover = _cover(n, dimension, row, columns, j, COUNTRY)
                    entries.append((cover, value, None))
            for j in range(len(columns) + 1):
                value = (
                    table["column_totals"][j] if j < len(columns) else table["total"]
                )
                entries.append((_cover(n, "all", "", columns, j, COUNTRY), value, None))
    over = insights.call(
        "get_programme_impact", admin, {"programme_id": str(made["programme"])}
    )
    (table,) = [t for t in over["tables"] if t["name"] == "reports_over_time"]
    for i in range(len(table["rows"])):
        for j, column in enumerate(table["columns"]):
            entries.append((_one(i, column), table["cells"][i][j], None))
        entries.append((_one(i, None), table["row_totals"][i], None))
    for j, column in enumerate(table["columns"]):
        entries.append((_one(None, column), table["column_totals"][j], None))
    entries.append((_one(None, None), table["total"], None))

    micro = {k: v for k, v in MICRO.items()}
    for cycle in (0, 1):  # every (cycle, club, tier, outcome) an unknown
        for club in COUNTRY:
            for tier in ("volunteer", "professional"):
                for outcome in ("accepted", "rejected"):
                    micro.setdefault((cycle, club, tier, outcome), 0)
    hidden = [e for e in entries if e[1] is None]
    assert hidden  # A's 2 rejected and more
    assert attack(micro, entries) == []
    # the same first cycle, each grouping suppressed alone, leaks
    first = {(0, *k[1:]): v for k, v in micro.items() if k[0] == 0}
    assert attack(first, separately(first, COUNTRY, ["accepted", "rejected"])) != []
