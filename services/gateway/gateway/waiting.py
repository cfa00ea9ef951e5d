"""What is waiting for the person signed in: the counts and links the first page
after their sign-in shows (templates/_waiting.html words them), from the services'
existing queues and one count RPC of stipends (count_waiting_work).

A service that does not answer in time leaves its lines out (`unavailable` says
so on the page); the rest of the page still shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.base import Call, GatewayBase
from gateway.exceptions import UpstreamUnavailable
from gateway.roles import ADMIN, COMMUNICATOR, COORDINATOR, FINANCE

# the unread messages counted at most (the inbox's own page limit): more shows as
# "200 or more"
UNREAD_LIMIT = 200
# the queues a staff member is shown, by role, in the order of the page; each
# line's words are in templates/_waiting.html
ADMIN_QUEUES = ("applications", "reports_to_review", "stipends_to_approve")
FINANCE_QUEUES = ("runs_to_release", "differences_open", "receipt_problems_open")
LINKS = {
    "applications": "/admin/applications",
    "reports_to_review": "/admin/reports",
    "stipends_to_approve": "/admin/programmes",
    "runs_to_release": "/finance",
    "differences_open": "/finance/reconciliations",
    "receipt_problems_open": "/finance/receipts",
    "vouch_requests": "/me/vouches",
    "clubs": "/coordinator",
    "unread": "/me/inbox",
    "report": "/me/report",
}


@dataclass
class Waiting:
    """`queues`: (key, count, link) in page order; `report`: the communicator's
    open cycle and whether their report for it is in; `payout`: their latest
    stipend as own_stipends gives it; `unavailable`: a service did not answer."""

    queues: list[tuple[str, int, str]]
    report: dict[str, Any] | None = None
    payout: dict[str, Any] | None = None
    unavailable: bool = False

    def add(self, key: str, count: int) -> None:
        self.queues.append((key, count, LINKS[key]))


def _ask(service: GatewayBase, waiting: Waiting, method: Any, *args: Any) -> Any:
    try:
        return service.deadline(method, *args)
    except UpstreamUnavailable:
        waiting.unavailable = True
        return None


def waiting_for(
    service: GatewayBase,
    call: Call,
    *,
    me: dict[str, Any] | None = None,
    stipends: list[dict[str, Any]] | None = None,
) -> Waiting:
    """The waiting work of `call`'s person, by their roles. `me` and `stipends`:
    what the communicator's page has already asked for (not asked twice)."""
    roles = set(call.actor["roles"])
    waiting = Waiting(queues=[])
    if ADMIN in roles:
        found = [
            _ask(
                service,
                waiting,
                service.registry.find_communicators,
                call.actor,
                {"status": status},
            )
            for status in ("applied", "in_review")
        ]
        if all(rows is not None for rows in found):
            waiting.add("applications", sum(len(rows) for rows in found))
    if roles & {ADMIN, FINANCE}:
        counts = _ask(service, waiting, service.stipends.count_waiting_work, call.actor)
        wanted = (ADMIN_QUEUES if ADMIN in roles else ()) + (
            FINANCE_QUEUES if FINANCE in roles else ()
        )
        for key in wanted:
            if counts is not None and key in counts:
                waiting.add(key, int(counts[key]))
    if COMMUNICATOR in roles:
        _communicator(service, call, waiting, me, stipends)
    if COORDINATOR in roles:
        clubs = _ask(service, waiting, service.registry.list_clubs)
        if clubs is not None:
            own = [c for c in clubs if c.get("coordinator_id") == call.actor_id]
            waiting.add("clubs", len(own))
    unread = _ask(
        service,
        waiting,
        service.notifications.list_inbox,
        call.actor,
        {"unread_only": True, "limit": UNREAD_LIMIT, "language": call.lang},
    )
    if unread is not None:
        waiting.add("unread", len(unread))
    return waiting


def _communicator(
    service: GatewayBase,
    call: Call,
    waiting: Waiting,
    me: dict[str, Any] | None,
    stipends: list[dict[str, Any]] | None,
) -> None:
    """The report due (the open cycle with the nearest deadline, and whether theirs
    is in), the latest payment's state, the vouch requests waiting."""
    if me is None:
        me = _ask(service, waiting, service.registry.get_own_status, call.actor)
    if me is not None and me.get("vouch_requests"):
        waiting.add("vouch_requests", int(me["vouch_requests"]))
    cycles = _ask(service, waiting, service.stipends.list_cycles, call.actor)
    open_ = [c for c in cycles or [] if c["status"] == "open"]
    if open_:
        cycle = min(open_, key=lambda c: c["deadline"])
        reports = _ask(
            service, waiting, service.stipends.list_reports, call.actor, cycle["id"]
        )
        statuses = {r["status"] for r in reports or []}
        state = (
            "in"
            if statuses & {"submitted", "accepted"}
            else ("changes" if "changes_requested" in statuses else "due")
        )
        passed = datetime.fromisoformat(cycle["deadline"]) <= datetime.now(UTC)
        waiting.report = {
            "period": cycle["period"],
            # the hour matters: a deadline is a moment (UTC), not a day; the page
            # writes it in its language (the `moment` filter)
            "deadline": cycle["deadline"],
            # past the deadline a report is still taken (as late) until the close
            "state": "late" if state == "due" and passed else state,
        }
    if stipends is None:
        stipends = _ask(service, waiting, service.stipends.own_stipends, call.actor)
    if stipends:
        waiting.payout = stipends[0]
