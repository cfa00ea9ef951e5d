"""Finance's receipt problems refuse a status or a resolution outside their lists
before reading anything, naming the field and the choices."""

import uuid
from datetime import UTC, datetime

import pytest

from stipends.exceptions import InvalidRequest
from stipends.logic.actors import FINANCE, Actor
from stipends.logic.payouts import receipts

FINANCE_ACTOR = Actor(id=uuid.uuid4(), roles=frozenset({FINANCE}))


class NoSession:
    """Any use of the session fails the test: the choice is refused first."""

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"the session was used ({name})")


def test_a_status_outside_the_list_is_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        receipts.list_problems(NoSession(), FINANCE_ACTOR, "lost")  # type: ignore[arg-type]
    assert refused.value.code == "invalid_status"
    assert refused.value.message == "status is one of open, resolved, withdrawn"
    assert refused.value.fields == {
        "status": ["one of ('open', 'resolved', 'withdrawn')"]
    }


def test_a_resolution_outside_the_list_is_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        receipts.resolve_problem(
            NoSession(),  # type: ignore[arg-type]
            FINANCE_ACTOR,
            uuid.uuid4(),
            "shrugged",
            "looked into it",
            datetime.now(UTC),
        )
    assert refused.value.code == "invalid_resolution"
    assert refused.value.message.startswith("resolution is one of received_after_all, ")
    assert list(refused.value.fields) == ["resolution"]
    assert refused.value.fields["resolution"][0].startswith(
        "one of ('received_after_all', "
    )
