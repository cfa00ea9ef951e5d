"""The courier inside a batched handler: nothing is mailed before the batch commits,
nothing at all when it rolls back, and what a batch made due is leased only after
its commit (not in its transaction, where a large batch's lease could run out
while earlier mails went)."""

import uuid
from dataclasses import replace
from typing import Any

import pytest

from notifications.logic import courier as courier_module
from notifications.logic.courier import Courier
from notifications.logic.deliveries import Job, RetryPolicy
from notifications.logic.recipients import Contact
from notifications.templates import render
from svyaz import batch as batching


def job() -> Job:
    return Job(
        delivery_id=1,
        attempt=1,
        event_id=uuid.uuid4(),
        recipient_id=uuid.uuid4(),
        audience="communicator",
        channel="email",
        template="report_accepted",
        payload={},
        discreet=True,
        language="en",
    )


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[list[Job]]:
    calls: list[list[Job]] = []

    def send_all(jobs: list[Job], *_: Any) -> list[Any]:
        calls.append(list(jobs))
        return []

    monkeypatch.setattr(courier_module, "send_all", send_all)
    return calls


def courier() -> Courier:
    def no_transaction() -> Any:
        raise AssertionError("no transaction expected")

    return Courier(no_transaction, contacts=None, channels={}, policy=RetryPolicy())  # type: ignore[arg-type]


def test_a_send_in_a_batch_waits_for_its_commit(sent: list[list[Job]]) -> None:
    batch = batching.Batch([])
    one = courier()
    with batching.running(batch):
        one.send([job()])
        assert sent == []  # the batch has not committed
    batch.run_deferred()
    assert [len(jobs) for jobs in sent] == [1]


def test_a_batch_rolled_back_mails_nothing(sent: list[list[Job]]) -> None:
    batch = batching.Batch([])
    with batching.running(batch):
        courier().send([job()])
    batch.reset()  # rolled back: run again one message at a time
    batch.run_deferred()
    assert sent == []


def test_what_a_batch_made_due_is_leased_after_its_commit() -> None:
    leased: list[list[int]] = []
    batch = batching.Batch([])
    one = courier()
    one.deliver = leased.append  # type: ignore[method-assign]

    class Session:
        info: dict[str, Any] = {courier_module.WORK: [], courier_module.NOTICES: []}

    with batching.running(batch):
        original = courier_module.write
        courier_module.write = lambda session, notices: [7, 8]  # type: ignore[assignment]
        original_work = courier_module.write_work
        courier_module.write_work = lambda session, rows: None  # type: ignore[assignment]
        try:
            one._write_batch(Session())  # type: ignore[arg-type]
        finally:
            courier_module.write = original
            courier_module.write_work = original_work
        assert leased == []  # nothing leased inside the batch's transaction
    batch.run_deferred()
    assert leased == [[7, 8]]


def test_outcomes_wait_for_the_database_instead_of_the_lease() -> None:
    """Mails sent, then the database away (a failover): the outcomes are recorded
    once it is back, not left for the lease (60 s) to run out. Before, three quick
    tries gave up, and the failed ones waited a minute to be tried again."""
    from contextlib import contextmanager

    from sqlalchemy.exc import OperationalError

    from notifications.logic.deliveries import Attempt

    tries: list[int] = []
    recorded: list[Any] = []

    class Down(Exception):
        pgcode = None

    @contextmanager
    def transaction() -> Any:
        tries.append(1)
        if len(tries) <= 6:
            raise OperationalError("connect", {}, Down("connection refused"))
        yield "session"

    def record_all(session: Any, outcomes: Any, now: Any, policy: Any) -> Any:
        recorded.append((session, outcomes))
        return {1: "sent"}

    slept: list[float] = []
    one = Courier(transaction, None, {}, RetryPolicy(), sleep=slept.append)  # type: ignore[arg-type]
    original = courier_module.record_all
    courier_module.record_all = record_all  # type: ignore[assignment]
    try:
        outcome = one.record([(job(), Attempt("sent"))])
    finally:
        courier_module.record_all = original  # type: ignore[assignment]
    assert outcome == {1: "sent"} and len(recorded) == 1
    assert len(tries) == 7 and sum(slept) > 3  # longer than the old 0.6 s


class Outbox:
    """A channel that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, address: Any, message: Any, **_: Any) -> None:
        self.sent.append(message)


@pytest.mark.parametrize(
    ("chosen", "invited_in", "written_in"),
    [
        (None, "en", "en"),  # never chose: the language they were invited in
        ("ru", "en", "ru"),  # their own choice wins
        (None, None, "ru"),  # neither: the programme's default
    ],
)
def test_a_staff_members_mail_is_in_their_choice_else_the_one_invited_in(
    chosen: str | None, invited_in: str | None, written_in: str
) -> None:
    staff_job = replace(
        job(),
        audience="staff",
        discreet=False,
        language=chosen,
        template="report_accepted",
    )
    box = Outbox()
    contact = Contact(email="fin@example.org", default_language=invited_in)
    tried = courier_module.send_to(staff_job, contact, {"email": box})  # type: ignore[dict-item]
    assert tried.status == "sent" and tried.language is None  # nothing to remember
    assert box.sent == [render("report_accepted", written_in)]


@pytest.mark.parametrize(
    ("audience", "signs_in", "told"),
    [
        ("staff", False, False),  # staff set theirs when invited
        ("communicator", False, True),  # applied without a password
        ("communicator", True, False),  # has one: nothing to set
    ],
)
def test_only_a_communicator_without_a_password_is_told_how_to_set_one(
    audience: str, signs_in: bool, told: bool
) -> None:
    box = Outbox()
    neutral = replace(job(), audience=audience, discreet=True, language="en")
    contact = Contact(email="x@example.org", signs_in=signs_in)
    courier_module.send_to(neutral, contact, {"email": box})  # type: ignore[dict-item]
    assert ("Forgot your password?" in box.sent[0].body) is told
