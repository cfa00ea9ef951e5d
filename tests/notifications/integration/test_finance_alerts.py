"""Finance hears of a run waiting for release, of differences a reconciliation found,
and of a released run not reconciled in time: each once, never to program admins."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.helpers import wait_until
from tests.notifications.integration.conftest import actor
from tests.notifications.integration.test_staff import staff_member


def handled(notifications: Any, event_type: str, **data: Any) -> None:
    body = notifications.publish(event_type, "stipends", **data)
    wait_until(lambda: notifications.processed(body["event_id"]), event_type)


def subjects(notifications: Any, ident: str) -> list[str]:
    inbox = notifications.call(
        "list_inbox", actor(ident, "finance"), {"language": "en"}
    )
    return [message["subject"] for message in inbox]


def test_finance_hears_of_runs_and_reconciliations_once(notifications: Any) -> None:
    finance, finance_mail = staff_member("finance")
    admin, admin_mail = staff_member("program_admin")
    run = str(uuid.uuid4())
    for _ in range(2):  # a redelivered copy under its own id sends again: not this
        body = notifications.publish(
            "payout_run.built.v1", "stipends", run_id=run,
            cycle_id=str(uuid.uuid4()), payouts=12,
        )  # fmt: skip
        wait_until(lambda b=body: notifications.processed(b["event_id"]), "built")
    # the period reconciled again the same day finds the same 2: said once; a
    # different count is news
    for found in (2, 2, 3):
        handled(notifications, "reconciliation.completed.v1", run_id=run,
                matched=10, discrepancies=found, provider="bank_file",
                first_day="2026-11-01", last_day="2026-11-30")  # fmt: skip
    handled(notifications, "reconciliation.completed.v1", run_id=str(uuid.uuid4()),
            matched=5, discrepancies=0)  # fmt: skip

    wait_until(lambda: len(notifications.smtp.to(finance_mail)) >= 4, "finance mail")
    got = subjects(notifications, finance)
    assert got.count("A payout run is waiting for release") == 2  # two events
    assert got.count("Reconciliation found differences") == 2  # 2, then 3; none for 0
    bodies = [
        m["body"]
        for m in notifications.call(
            "list_inbox", actor(finance, "finance"), {"language": "en"}
        )
        if m["subject"] == "Reconciliation found differences"
    ]
    assert all(
        "Reconciling the bank transfers of Nov 1, 2026 to Nov 30, 2026" in b
        for b in bodies
    )
    assert all(
        m.subject == "Новое сообщение" for m in notifications.smtp.to(finance_mail)
    )
    assert notifications.smtp.to(admin_mail) == []


def test_a_late_reconciliation_is_announced_once(notifications: Any) -> None:
    finance, finance_mail = staff_member("finance")
    late, on_time = str(uuid.uuid4()), str(uuid.uuid4())
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    for run in (late, on_time):
        handled(notifications, "payout_run.released.v1", run_id=run,
                released_at=long_ago)  # fmt: skip
    handled(notifications, "reconciliation.completed.v1", run_id=on_time, matched=3,
            discrepancies=0)  # fmt: skip
    notifications.call("check_reconciliation")
    notifications.call("check_reconciliation")  # once per run
    wait_until(lambda: notifications.smtp.to(finance_mail), "the overdue alert")
    assert subjects(notifications, finance) == ["A reconciliation is overdue"]
    rows = notifications.sql(
        "SELECT run_id::text, alerted_at IS NOT NULL FROM finance_runs ORDER BY 2"
    )
    assert sorted(tuple(r) for r in rows) == sorted([(on_time, False), (late, True)])
