"""The shared rate limit on PostgreSQL: two replicas (two buckets, two engines) take
slots from one row, so together they stay under the rate; a 429's hold stops both."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from stipends.payouts.ratelimit import SharedTokenBucket
from tests.stipends.integration.conftest import Db


def replica(db: Db, rate: float, sleeps: list[float]) -> SharedTokenBucket:
    engine = create_engine(db.url)

    @contextmanager
    def transaction() -> Iterator[Session]:
        with Session(engine) as session, session.begin():
            yield session

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    return SharedTokenBucket(transaction, "payouts", rate, burst=1, sleep=sleep)


def test_two_replicas_share_one_rate(db: Db) -> None:
    rate, each = 40.0, 20
    sleeps: list[float] = []
    buckets = [replica(db, rate, sleeps) for _ in range(2)]

    errors: list[BaseException] = []

    def run(bucket: SharedTokenBucket) -> None:
        try:
            for _ in range(each):
                bucket.take()
        except BaseException as exc:  # noqa: BLE001 - a thread's error fails the test
            errors.append(exc)

    began = time.monotonic()
    threads = [threading.Thread(target=run, args=(b,)) for b in buckets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    assert errors == []  # both start on an empty table: the first use creates the row
    # 40 calls at 40/s with no burst: the last slot is 39/40 s after the first. Two
    # in-process buckets would each have allowed 40/s: about half that.
    assert elapsed >= (2 * each - 1) / rate * 0.95
    assert len(sleeps) >= 2 * each - 2  # nearly every call waited for its slot


def test_workers_sharing_one_bucket_start_together(db: Db) -> None:
    """A service's workers share one bucket: the first takes, all at once, find or
    create the row without tripping over each other."""
    bucket = replica(db, 1000.0, [])
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(5):
                bucket.take()
        except BaseException as exc:  # noqa: BLE001 - a thread's error fails the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_hold_stops_every_replica(db: Db) -> None:
    sleeps: list[float] = []
    one, other = (replica(db, 1000.0, sleeps) for _ in range(2))
    one.take()
    one.hold(5.0)  # long enough that a loaded machine's delays do not matter
    assert 4.0 <= other.wait_time() <= 5.1
    assert db.sql("SELECT count(*) FROM payout_rate_limits")[0][0] == 1


def test_a_bad_rate_is_refused(db: Db) -> None:
    with pytest.raises(ValueError):
        replica(db, 0.0, [])
