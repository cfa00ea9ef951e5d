"""PostgreSQL failover while the system works: the real processes on a primary and
its synchronous standby of their own (infra/cluster/postgres.py), each service's
database reached through a URI naming both with `target_session_attrs=read-write`.

People keep applying (an application is a registry transaction with its outbox row;
the event then reaches stipends and notifications, which mails the applicant) while
the primary is stopped at once and the standby promoted. What the gateway accepted
before survives; a request the loss broke is retried by its caller (an answer that
the pseudonym is taken means the first try had committed); events are retried by the
outbox and the consumers; every applicant is registered, known to stipends and
mailed exactly once. The pause (from the primary's loss to the next accepted
application) is printed: docs/failover.md.
"""

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import wait_until
from tests.stack import System, postgres_pair, running_system

BEFORE, AFTER = 6, 6  # applications accepted before the loss, and after


@pytest.fixture(scope="module")
def failover_system(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with postgres_pair() as pair:
        with running_system(
            Path(tmp_path_factory.mktemp("failover")),
            prefix="fo",
            pg_url=pair.admin_url,
            pg_hosts=pair.hosts,
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

    def run(self) -> None:
        while not self.stop.is_set():
            self.apply()


def test_promoting_the_standby_loses_and_duplicates_nothing(failover_system):
    pair, system = failover_system
    people = Applicants(system)
    people.start()
    try:
        wait_until(lambda: len(people.accepted) >= BEFORE, "applications", 60)
        committed = dict(people.accepted)
        lost_at = time.monotonic()
        promotion = pair.promote()
        wait_until(
            lambda: sum(1 for t in people.accepted_at if t > lost_at) >= AFTER,
            "applications after the standby's promotion",
            90,
        )
    finally:
        people.stop.set()
        people.join(timeout=60)
    assert not people.errors
    pause = min(t for t in people.accepted_at if t > lost_at) - lost_at
    print(
        f"\nfailover: promotion {promotion:.2f} s, first application accepted "
        f"{pause:.2f} s after the primary's loss; {people.retried} tries retried, "
        f"{people.taken_on_retry} found committed on retry, "
        f"{len(people.accepted)} applications"
    )
    # the services now write to the promoted standby (the old primary is gone)
    assert system.sql("registry", "SELECT pg_is_in_recovery()") == [(False,)]
    assert int(system.sql("registry", "SELECT inet_server_port()")[0][0]) == (
        pair.nodes[1].port
    )
    names = sorted(people.accepted)
    rows = system.sql(
        "registry",
        "SELECT pseudonym, count(*) FROM communicators "
        "WHERE pseudonym = ANY(:names) GROUP BY pseudonym",
        names=names,
    )
    # every accepted application once, those accepted before the loss among them
    assert dict(rows) == {name: 1 for name in names}
    assert set(committed) <= set(people.accepted)
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
        lambda: system.sql(
            "stipends",
            "SELECT count(*) FROM communicators WHERE id::text = ANY(:ids)",
            ids=ids,
        )
        == [(len(ids),)],
        "every applicant known to stipends",
        60,
    )

    def mailed() -> dict[str, int]:
        counts: dict[str, int] = {}
        for mail in system.mails():
            to = str(mail["To"])
            counts[to] = counts.get(to, 0) + 1
        return counts

    wait_until(
        lambda: all(mailed().get(e) for e in people.accepted.values()),
        "every applicant's acknowledgement",
        60,
    )
    time.sleep(2)  # a second copy would follow within the outbox's poll
    counts = mailed()
    assert {e: counts.get(e) for e in people.accepted.values()} == {
        e: 1 for e in people.accepted.values()
    }
    assert system.sql(
        "registry", "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    ) == [(0,)]
