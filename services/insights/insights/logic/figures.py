"""The impact views, and what their figures count and group by: the columns of each
table, the dimensions a view groups by, and a row's grouping by its member (club,
country, tier). The views: `cycle_figures` (one cycle) and `programme_figures` (a
programme over time), with `money_figures` and `reconciliation_figures`.

Every count goes through `suppression` before it leaves the views, and the tables
that share totals are suppressed together (`linked`): a cycle's club, country and tier
tables as one family, the tables over time from the cycles' own grand rows, payouts
as one table of outcomes by cycle; each leaves as a `published` table. A figure that
is a sum over people (conversations, hours, money) is shown only where the count of
people or reports behind it is. Nothing here lists a person: every query groups.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

from insights.exceptions import InvalidRequest
from insights.models import UNKNOWN, Member
from svyaz.vocabulary import OBSERVED_CHANGES

DIMENSIONS = {"country": Member.country, "club": Member.club_id, "tier": Member.tier}
REPORT_COLUMNS = ("accepted", "rejected", "changes_requested", "submitted")
CHANGES = OBSERVED_CHANGES
ACTIVITY_COLUMNS = ("retained", "new")


def dimension_column(name: str) -> Any:
    if name not in DIMENSIONS:
        raise InvalidRequest(
            f"group by one of {', '.join(DIMENSIONS)}",
            "invalid_dimension",
            {"dimension": [f"one of {', '.join(DIMENSIONS)}"]},
        )
    return DIMENSIONS[name]


Counts = dict[tuple[str, str, str, str], int]  # (club, country, tier, column) -> n


def groups() -> tuple[Any, Any, Any]:
    """The three groupings of a row, "unknown" where the member is not known."""
    return (
        func.coalesce(Member.club_id, UNKNOWN).label("club"),
        func.coalesce(Member.country, UNKNOWN).label("country"),
        func.coalesce(Member.tier, UNKNOWN).label("tier"),
    )
