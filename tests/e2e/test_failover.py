"""PostgreSQL failover while the system works: the real processes on a primary and
its synchronous standby of their own (infra/cluster/postgres.py), each service's
database reached through a URI naming both with `target_session_attrs=read-write`.

People keep applying (an application is a registry transaction with its outbox row;
the event then reaches stipends and notifications, which mails the applicant) while
the primary is stopped at once and, `GAP` seconds later, the standby promoted. What
the gateway accepted before survives; a request the loss broke is retried by its
caller (an answer that the pseudonym is taken means the first try had committed);
events are retried by the outbox, and handlers wait for the database in place
(`svyaz.db.retrying`), so nothing is parked; every applicant is registered, known
to stipends and mailed exactly once. The pause (the longest one application took,
its retries included) is printed: docs/failover.md.

In `make test` the services reach the nodes through a PgBouncer on each, in
transaction pooling (so this is also the service chain through PgBouncer);
`FAILOVER_LONG=1` (`make chaos`) runs it directly and through the poolers, with
more people applying at once for longer.
"""

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import wait_until
from tests.stack import System, postgres_pair, running_system

LONG = bool(os.environ.get("FAILOVER_LONG"))
# applications accepted before the loss, and after; people applying at once
BEFORE, AFTER, PEOPLE = (40, 40, 4) if LONG else (4, 4, 1)
# seconds with no primary at all before the standby is promoted (a failover
# manager's time to decide): longer than a message's requeues with backoff took
# (about 3 s), which parked every event in flight until handlers waited in place
GAP = 8.0


@pytest.fixture(scope="module", params=["direct", "pooled"] if LONG else ["pooled"])
def failover_system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    with postgres_pair(pooled=request.param == "pooled") as pair:
        with running_system(
            Path(tmp_path_factory.mktemp("failover")),
            prefix="fo",
            pg_url=pair.admin_url,
            # the standby named first: libpq must ask each node whether it takes
            # writes (target_session_attrs=read-write), and find the primary
            pg_hosts=pair.hosts[::-1],
            # a mail whose contact lookup the loss broke is retried within the test
            NOTIFY_RETRY_BASE="1",
            NOTIFY_RETRY_MAX="5",
            SENDER_INTERVAL="1",
        ) as system:
            yield pair, system
            system.settings.pg_url = pair.admin_url  # the clean-up's administrator


class Applicants(threading.Thread):
    """People applying one after another, each retrying until the system answers:
    `accepted` (pseudonym -> email), `retried` (tries that failed), and the times
    each application was accepted."""

    def __init__(self, system: System):
        super().__init__(daemon=True)
        self.system = system
        self.stop = threading.Event()
        self.accepted: dict[str, str] = {}
        self.accepted_at: list[float] = []
        self.longest = 0.0  # the longest one application took, retries included
        self.retried = 0
        self.taken_on_retry = 0
        self.errors: list[str] = []

    def apply(self) -> None:
        pseudonym = f"fo_{uuid.uuid4().hex[:8]}"
        email = f"{pseudonym}@example.org"
        body = {
            "pseudonym": pseudonym,
            "legal_name": "Olga V.",
            "email": email,
            "country": "AM",
            "city": "Yerevan",
            "consent_version": "2026-11",
            "consent": True,
        }
        tries = 0
        began = time.monotonic()
        while not self.stop.is_set():
            tries += 1
            try:
                answer = requests.post(
                    f"{self.system.url}/api/v1/applications", json=body, timeout=30
                )
            except requests.RequestException:
                answer = None
            if answer is not None and answer.status_code == 202:
                break
            taken = answer is not None and "pseudonym_taken" in answer.text
            if taken and tries > 1:  # the broken try had committed
                self.taken_on_retry += 1
                break
            if answer is not None and answer.status_code < 500 and not taken:
                self.errors.append(f"{answer.status_code} {answer.text[:200]}")
                return
            self.retried += 1
            time.sleep(0.2)
        else:
            return
        self.accepted[pseudonym] = email
        self.accepted_at.append(time.monotonic())
        self.longest = max(self.longest, self.accepted_at[-1] - began)

    def run(self) -> None:
        while not self.stop.is_set():
            self.apply()


def test_promoting_the_standby_loses_and_duplicates_nothing(failover_system):
    pair, system = failover_system
    began = time.monotonic()
    crowd = [Applicants(system) for _ in range(PEOPLE)]

    def accepted(after: float = 0.0) -> list[float]:
        return [t for p in crowd for t in p.accepted_at if t > after]

    for people in crowd:
        people.start()
    try:
        wait_until(lambda: len(accepted()) >= BEFORE, "applications", 120)
        committed = {n for p in crowd for n in list(p.accepted)}
        lost_at = time.monotonic()
        promotion = pair.promote(gap=GAP)
        wait_until(
            lambda: len(accepted(lost_at)) >= AFTER,
            "applications after the standby's promotion",
            120,
        )
    finally:
        for people in crowd:
            people.stop.set()
        for people in crowd:
            people.join(timeout=60)
    applied = time.monotonic()
    assert [e for p in crowd for e in p.errors] == []
    # the pause callers saw: the longest one application took, its retries included
    pause = max(p.longest for p in crowd)
    everyone = {n: e for p in crowd for n, e in p.accepted.items()}
    print(
        f"\nfailover ({'pooled' if pair.pooled else 'direct'}): promotion "
        f"{promotion:.2f} s, the longest application (retries included) "
        f"{pause:.2f} s; {sum(p.retried for p in crowd)} tries retried, "
        f"{sum(p.taken_on_retry for p in crowd)} found committed on retry, "
        f"{len(everyone)} applications"
    )
    # the services now write to the promoted standby (the old primary is gone)
    assert system.sql("registry", "SELECT pg_is_in_recovery()") == [(False,)]
    assert int(system.sql("registry", "SELECT inet_server_port()")[0][0]) == (
        pair.nodes[1].port
    )
    if pair.pooled:  # every service came back through the promoted node's pooler
        log = (pair.base / "pgbouncer-standby" / "pgbouncer.log").read_text()
        for service in ("registry", "stipends", "notifications", "gateway"):
            assert f"login attempt: db={system.settings.db_name(service)} " in log
    names = sorted(everyone)
    rows = system.sql(
        "registry",
        "SELECT pseudonym, count(*) FROM communicators "
        "WHERE pseudonym = ANY(:names) GROUP BY pseudonym",
        names=names,
    )
    # every accepted application once, those accepted before the loss among them
    assert dict(rows) == {name: 1 for name in names}
    assert committed <= set(everyone)
    ids = [
        str(row[0])
        for row in system.sql(
            "registry",
            "SELECT id FROM communicators WHERE pseudonym = ANY(:names)",
            names=names,
        )
    ]
    # the events went out from the outbox and were handled once each
    wait_until(
        lambda: (
            system.sql(
                "stipends",
                "SELECT count(*) FROM communicators WHERE id::text = ANY(:ids)",
                ids=ids,
            )
            == [(len(ids),)]
        ),
        "every applicant known to stipends",
        60,
    )

    def mailed() -> dict[str, int]:
        counts: dict[str, int] = {}
        for mail in system.mails():
            to = str(mail["To"])
            counts[to] = counts.get(to, 0) + 1
        return counts

    try:
        wait_until(
            lambda: all(mailed().get(e) for e in everyone.values()),
            "every applicant's acknowledgement",
            60,
        )
    finally:  # what the deliveries say, if some are missing
        print(
            system.sql(
                "notifications",
                "SELECT id, status, attempts, last_error FROM deliveries "
                "WHERE status <> 'sent'",
            )
        )
        # and, when none is unsent: how many there are, what the inbox took, and
        # who was mailed (a mail missing with its delivery 'sent' would be lost)
        print(
            "deliveries by status:",
            system.sql(
                "notifications",
                "SELECT status, count(*) FROM deliveries GROUP BY status",
            ),
            "events taken:",
            system.sql(
                "notifications",
                "SELECT event_type, count(*) FROM processed_events GROUP BY 1",
            ),
            "mailed:",
            len(mailed()),
            "of",
            len(everyone),
            "parked:",
            system.parked(),
        )
    print(
        f"phases: applying {applied - began:.1f} s, then every event handled and "
        f"mailed {time.monotonic() - applied:.1f} s"
    )
    time.sleep(2)  # a second copy would follow within the outbox's poll
    counts = mailed()
    assert {e: counts.get(e) for e in everyone.values()} == {
        e: 1 for e in everyone.values()
    }
    assert system.sql(
        "registry", "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    ) == [(0,)]
    # the outage was waited out: no event was parked as if it were poison
    assert system.parked() == {}
