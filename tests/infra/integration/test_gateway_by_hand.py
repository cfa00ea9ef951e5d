"""bench/gateway.py's like-for-like baseline does the work it stands for: the save
written by hand (bench/_gateway_by_hand.py) checks the session and the CSRF token,
validates and redacts the body, and commits the report with its idempotency record;
what it refuses leaves nothing behind. A baseline that skipped any of it would flatter
the gateway's ratio."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
import requests

from tests.conftest import PG, ROOT, drop_database
from tests.stack import devstack, free_port

# bench/ on the path only for this import: left there, bench/gateway.py would
# stand for the gateway package in every module collected after this one (the
# folder alone failed to collect)
sys.path.insert(0, str(ROOT / "bench"))
try:
    from _gateway_by_hand import COOKIE, MAX_BODY, prepare
finally:
    sys.path.remove(str(ROOT / "bench"))

REPORT = {
    "conversations": 2,
    "audiences": ["family"],
    "channels": ["phone"],
    "topics": ["prices"],
    "hours": 1,
    "observed_change": "some",
    "narrative": "Called my aunt on +7 916 123-45-67; sent https://example.org/a",
}


@pytest.fixture
def served() -> Iterator[tuple[str, str, str, str]]:
    """(the reports address, cookie, CSRF token, database URL) of a running server on
    a database of the test's own."""
    name = f"test_byhand_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(f"{PG}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = f"{PG}/{name}"
    port = free_port()
    server = None
    try:
        token, csrf, cycle = prepare(url)
        server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "_gateway_by_hand.py"),
                str(port),
                url,
            ]
        )
        devstack.wait_for(
            lambda: devstack.port_open("127.0.0.1", port), "the by-hand server", 30
        )
        yield f"http://127.0.0.1:{port}/api/v1/cycles/{cycle}/reports", token, csrf, url
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_database(url)


def _rows(url: str, sql: str) -> list[Any]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        found = cur.fetchall()
    conn.close()
    return found


def test_a_save_is_checked_redacted_and_committed_with_its_record(served) -> None:
    target, token, csrf, url = served
    answer = requests.post(
        target,
        json=REPORT,
        headers={"X-CSRF-Token": csrf},
        cookies={COOKIE: token},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["redacted"] == ["link", "phone"]
    (narrative,) = _rows(url, "SELECT narrative FROM reports")[0]
    assert "916" not in narrative and "example.org" not in narrative
    ((stored,),) = _rows(url, "SELECT answer FROM command_results")
    assert stored["report"]["narrative"] == narrative


@pytest.mark.parametrize(
    ("cookie", "csrf", "body", "status"),
    [
        ("not a session", None, REPORT, 401),
        (None, "a wrong token", REPORT, 403),
        (None, None, {**REPORT, "hours": -1}, 400),
        (None, None, {**REPORT, "narrative": "x" * MAX_BODY}, 413),
    ],
)
def test_a_refusal_leaves_nothing(served, cookie, csrf, body, status) -> None:
    target, token, good_csrf, url = served
    answer = requests.post(
        target,
        json=body,
        headers={"X-CSRF-Token": csrf or good_csrf},
        cookies={COOKIE: cookie or token},
        timeout=10,
    )
    assert answer.status_code == status, answer.text
    assert _rows(url, "SELECT count(*) FROM reports") == [(0,)]
    assert _rows(url, "SELECT count(*) FROM command_results") == [(0,)]
