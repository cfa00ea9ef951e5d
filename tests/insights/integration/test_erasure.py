"""communicator.erased.v1 over the real broker into the real database: after it no
insights row names the person's id, every published count stays as it was, an event
about them still in flight is detached as it arrives, and the rebuild agrees."""

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from insights.logic import facts
from svyaz.actors import ADMIN
from tests.helpers import actor, wait_until
from tests.insights.integration.conftest import Insights, ago
from tests.insights.integration.test_read_model import (
    money_and_more,
    programme_of_two_countries,
    state,
)

# every table of insights' own schema that could hold a person's id
TABLES = (
    "facts",
    "members",
    "reports",
    "stipends",
    "training_completions",
    "erasures",
    "processed_events",
)


def rows_naming(insights: Insights, person: uuid.UUID) -> dict[str, int]:
    """How many rows of each table name `person`, as text anywhere in the row."""
    found = {}
    for table in TABLES:
        n = insights.sql(
            f"SELECT count(*) FROM {table} t WHERE row_to_json(t)::text LIKE :id",  # noqa: S608
            id=f"%{person}%",
        )[0][0]
        if n:
            found[table] = n
    return found


def views(insights: Insights, made: dict[str, Any]) -> list[Any]:
    admin = actor([ADMIN])
    return [
        insights.call(
            "get_cycle_impact",
            admin,
            {"cycle_id": str(made["cycle"]), "dimension": dimension},
        )
        for dimension in ("country", "club", "tier")
    ] + [
        insights.call(
            "get_programme_impact", admin, {"programme_id": str(made["programme"])}
        )
    ]


def erase(insights: Insights, person: uuid.UUID) -> None:
    insights.publish(
        "communicator.erased.v1", "registry", at=ago(1), communicator_id=person
    )
    wait_until(
        lambda: (
            insights.sql(
                "SELECT count(*) FROM facts WHERE event_type = 'communicator.erased.v1'"
            )[0][0]
            >= 1
        ),
        "the erasure taken",
        20.0,
    )


def test_after_erasure_no_row_names_the_person_and_counts_stay(
    insights: Insights,
) -> None:
    made = programme_of_two_countries(insights)
    insights.kept(made["sent"] + money_and_more(insights, made))
    person = made["people"][0]  # GE, a report, a stipend, a tier, a training
    before = views(insights, made)
    named = rows_naming(insights, person)
    assert {"facts", "members", "reports", "stipends", "training_completions"} <= set(
        named
    )

    erase(insights, person)

    assert rows_naming(insights, person) == {}
    assert views(insights, made) == before  # nothing published moved
    # the alias carries the person's contribution: one member row, in GE, tier kept
    (alias,) = insights.sql("SELECT alias FROM erasures")[0]
    assert insights.sql(
        "SELECT country, tier FROM members WHERE communicator_id = :a", a=alias
    ) == [("GE", "professional")]
    # the rebuild from the kept facts makes the same state, still without the id
    kept = state(insights)
    with Session(insights.engine) as session, session.begin():
        facts.rebuild(session)
    assert state(insights) == kept
    assert rows_naming(insights, person) == {}


def test_an_event_in_flight_after_the_erasure_is_detached(insights: Insights) -> None:
    made = programme_of_two_countries(insights)
    person = made["people"][1]
    erase(insights, person)
    count = insights.sql("SELECT count(*) FROM facts")[0][0]
    # a review sent before the erasure, taken after it (another queue)
    insights.publish(
        "report.reviewed.v1",
        "stipends",
        at=ago(2),
        report_id=uuid.uuid4(),
        communicator_id=person,
        cycle_id=made["cycle"],
        decision="accepted",
    )
    insights.kept(count + 1)
    assert rows_naming(insights, person) == {}
    (alias,) = insights.sql("SELECT alias FROM erasures")[0]
    assert insights.sql(
        "SELECT count(*) FROM reports WHERE communicator_id = :a", a=alias
    ) == [(2,)]
    # past the inbox's window the digest goes too
    with Session(insights.engine) as session, session.begin():
        dropped = facts.forget_erasures(
            session, timedelta(days=30), datetime.now(UTC) + timedelta(days=40)
        )
    assert dropped == 1 and insights.sql("SELECT count(*) FROM erasures") == [(0,)]


def test_the_erasure_digest_is_keyed_and_an_unkeyed_one_is_still_honoured(
    insights: Insights,
) -> None:
    """The row that stands for an erased person is found by an HMAC of their id
    under ERASURE_DIGEST_KEY, which the database does not hold: not the plain
    SHA-256 anyone could compute from an id other services keep, nor the HMAC
    under another key. A row kept before the key (a plain SHA-256, still inside
    the inbox's window) still detaches an event that arrives after it."""
    made = programme_of_two_countries(insights)
    person, earlier = made["people"][0], made["people"][1]
    key = insights.container.config["ERASURE_DIGEST_KEY"].encode()
    erase(insights, person)
    ((digest,),) = insights.sql("SELECT digest FROM erasures")
    tagged = b"insights-erasure:" + person.bytes
    assert digest == hmac.new(key, tagged, hashlib.sha256).hexdigest()
    assert digest != hashlib.sha256(tagged).hexdigest()
    assert digest != hmac.new(b"another key", tagged, hashlib.sha256).hexdigest()

    # erased before the key: its row as it was kept then
    legacy = uuid.uuid4()
    plain = hashlib.sha256(b"insights-erasure:" + earlier.bytes).hexdigest()
    insights.sql(
        "INSERT INTO erasures (digest, alias, erased_at) VALUES (:d, :a, now())",
        d=plain,
        a=legacy,
    )
    count = insights.sql("SELECT count(*) FROM facts")[0][0]
    report = uuid.uuid4()
    insights.publish(
        "report.reviewed.v1",
        "stipends",
        at=ago(2),
        report_id=report,
        communicator_id=earlier,
        cycle_id=made["cycle"],
        decision="accepted",
    )
    insights.kept(count + 1)
    kept = insights.sql(
        "SELECT data->>'communicator_id' FROM facts WHERE data->>'report_id' = :r",
        r=str(report),
    )
    assert kept == [(str(legacy),)]
