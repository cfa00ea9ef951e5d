"""A payout moves only along PAYOUT_STEPS, and every state is one the database knows."""

import re

import pytest

from stipends.exceptions import InvalidTransition
from stipends.payouts.models import PAYOUT_STATUSES, PAYOUT_STEPS, Payout


def payout(status: str) -> Payout:
    return Payout(status=status)


@pytest.mark.parametrize(
    ("start", "to"),
    [(s, t) for s, steps in PAYOUT_STEPS.items() for t in sorted(steps)],
)
def test_each_step_is_allowed(start: str, to: str) -> None:
    moved = payout(start)
    moved.move_to(to)
    assert moved.status == to


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("sent", "queued"),  # a sent payout may still be paid: never a second call
        ("sent", "cancelled"),
        ("paid", "queued"),
        ("cancelled", "queued"),
        ("planned", "calling"),
        ("planned", "paid"),
    ],
)
def test_a_step_outside_the_map_is_refused_and_changes_nothing(
    start: str, to: str
) -> None:
    held = payout(start)
    with pytest.raises(InvalidTransition, match=f"{start} cannot become {to}"):
        held.move_to(to)
    assert held.status == start


def test_the_steps_and_the_database_name_the_same_states() -> None:
    assert set(PAYOUT_STEPS) == set(PAYOUT_STATUSES)
    assert set().union(*PAYOUT_STEPS.values()) <= set(PAYOUT_STATUSES)
    (check,) = [c for c in Payout.__table__.constraints if c.name == "payout_status"]
    assert set(re.findall(r"'(\w+)'", str(check.sqltext))) == set(PAYOUT_STATUSES)
