"""Waiting for the database (`svyaz.db.retrying`): an event handler's work is run
again while the database cannot be reached or written (a restart, a failover),
with backoff, for up to `patience` seconds; what a statement itself got wrong is
raised at once. Before, each failed try put the message back on its queue, and an
outage of a few seconds used up the delivery limit and parked every event in
flight (tests/e2e/test_failover.py shows it end to end)."""

from typing import Any

import pytest
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InternalError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from svyaz.db import ServiceStopping, retrying, unavailable
from tests.helpers import FakeClock


class ServerError(Exception):
    """A DBAPI error as psycopg2 raises it: `pgcode` is the SQLSTATE, None when no
    server answered."""

    def __init__(self, pgcode: str | None) -> None:
        super().__init__(f"server said {pgcode}")
        self.pgcode = pgcode


def error(kind: type[DBAPIError], pgcode: str | None, **kw: Any) -> DBAPIError:
    return kind("SELECT 1", {}, ServerError(pgcode), **kw)


def code_of(exc: BaseException) -> str:
    return str(getattr(getattr(exc, "orig", None), "pgcode", ""))


@pytest.mark.parametrize(
    "exc",
    [
        error(OperationalError, None),  # could not connect at all
        error(OperationalError, "57P01"),  # terminating: administrator command
        error(OperationalError, "57P03"),  # the database system is starting up
        error(OperationalError, "08006"),  # connection failure
        error(OperationalError, "08P01"),  # a pooler with no server to give
        error(InternalError, "25006"),  # a standby: read-only transaction
        error(DBAPIError, "XX000", connection_invalidated=True),  # died mid-way
        PoolTimeout("QueuePool limit reached"),
    ],
    ids=lambda exc: f"{type(exc).__name__}:{code_of(exc)}",
)
def test_the_database_being_away_is_waited_for(exc: BaseException) -> None:
    assert unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        error(OperationalError, "57014"),  # a statement timeout: the work's own
        error(IntegrityError, "23505"),  # a unique violation
        error(InternalError, "XX000"),
        ValueError("not a database error"),
    ],
)
def test_what_the_work_got_wrong_is_not(exc: BaseException) -> None:
    assert not unavailable(exc)


def test_work_waits_through_an_outage_then_succeeds() -> None:
    clock = FakeClock()
    tries = []

    def work() -> str:
        tries.append(clock.t)
        if clock.t < 12:  # 12 s without a database
            raise error(OperationalError, None)
        return "done"

    assert retrying(work, patience=60, sleep=clock.sleep, clock=clock) == "done"
    # at once the first time, then backoff doubling from 0.25 s, at most 2 s
    assert clock.slept[:5] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert max(clock.slept) == 2.0
    assert len(tries) == len(clock.slept) + 2


def test_an_outage_longer_than_the_patience_is_raised() -> None:
    clock = FakeClock()
    tries = []

    def work() -> None:
        tries.append(clock.t)
        raise error(OperationalError, "57P03")

    with pytest.raises(OperationalError):
        retrying(work, patience=30, sleep=clock.sleep, clock=clock)
    assert clock.t == pytest.approx(30.0)  # waited no longer than the patience
    assert len(tries) > 5


def test_a_statement_error_is_raised_at_once() -> None:
    clock = FakeClock()
    tries = []

    def work() -> None:
        tries.append(1)
        raise error(IntegrityError, "23505")

    with pytest.raises(IntegrityError):
        retrying(work, sleep=clock.sleep, clock=clock)
    assert tries == [1] and clock.slept == []


def test_a_stopping_service_gives_the_work_back_instead_of_waiting() -> None:
    """A stop during an outage: the wait ends at the next pause with
    `ServiceStopping` (the message goes back on its queue), not after `patience`."""
    clock = FakeClock()
    tries = []
    stops_at = 3.0  # the container is asked to stop 3 s into the outage

    def work() -> None:
        tries.append(clock.t)
        raise error(OperationalError, None)

    with pytest.raises(ServiceStopping) as given_back:
        retrying(
            work,
            patience=60,
            sleep=clock.sleep,
            clock=clock,
            stopping=lambda: clock.t >= stops_at,
        )
    assert stops_at <= clock.t < stops_at + 2.0  # at most one pause past the stop
    assert isinstance(given_back.value.__cause__, OperationalError)
    # stopping from the start: the one try again at once, then no pause at all
    clock, tries = FakeClock(), []
    with pytest.raises(ServiceStopping):
        retrying(work, sleep=clock.sleep, clock=clock, stopping=lambda: True)
    assert len(tries) == 2 and clock.slept == []


def test_a_stopping_service_still_raises_what_the_work_got_wrong() -> None:
    def work() -> None:
        raise error(IntegrityError, "23505")

    with pytest.raises(IntegrityError):
        retrying(work, stopping=lambda: True)
