"""The enrollment helper's code stays accepted on a loaded machine: it is never
the previous step's taken in the last seconds of a step (by the time the registry
checked it, it was two steps old and refused: a browser test failed so)."""

import time
from typing import Any

import pyotp
import pytest

from tests import helpers


@pytest.mark.parametrize(
    ("into_step", "waits"),
    [(3.0, False), (21.9, False), (22.5, True), (29.9, True)],
)
def test_the_earlier_code_is_not_taken_at_the_end_of_a_step(
    monkeypatch: pytest.MonkeyPatch, into_step: float, waits: bool
) -> None:
    totp = pyotp.TOTP(pyotp.random_base32())
    clock = {"now": 1_800_000_000 - 1_800_000_000 % 30 + into_step}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(time, "time", lambda: clock["now"])
    monkeypatch.setattr(time, "sleep", sleep)
    code = helpers.earlier_code(totp)
    assert bool(slept) is waits
    # the step before the one it is sent in, and still that after MARGIN seconds
    sent_at: Any = clock["now"]
    assert code == totp.at(sent_at - totp.interval)
    assert totp.verify(
        code, for_time=sent_at + helpers.EARLIER_CODE_MARGIN - 0.1, valid_window=1
    )
