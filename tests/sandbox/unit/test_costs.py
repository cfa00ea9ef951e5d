"""What a request costs the sandbox does not grow with what it holds: a transfer
finds its reversals by its own index, not by scanning the store, and the state file
is written by a forked child while the server goes on answering."""

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localstripe import resources
from stripe_sandbox import state
from stripe_sandbox.objects import Resource, Transfer, TransferReversal

from tests.stripe_harness import SANDBOX


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[resources.Store]:
    """An empty store of the test's own, never written to disk."""
    fresh = resources.Store()
    monkeypatch.setattr(resources.Store, "dump_to_disk", lambda self: None)
    monkeypatch.setattr(resources, "store", fresh)
    monkeypatch.setattr(state, "store", fresh)
    yield fresh


def transfer(amount: int = 500) -> Transfer:
    return Transfer(amount, "eur", "acct_sandboxunit", None, {}, None)


def test_a_transfer_lists_its_reversals_without_scanning_the_store(
    store: resources.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other = transfer(), transfer()
    first = TransferReversal(mine, 100, {})
    TransferReversal(other, 50, {})
    second = TransferReversal(mine, 200, {})

    def scan(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the store was scanned")

    monkeypatch.setattr(Resource, "all", classmethod(scan))
    exported = mine._export()
    assert [r["id"] for r in exported["reversals"]["data"]] == [second.id, first.id]
    assert exported["amount_reversed"] == 300


def test_a_transfer_saved_before_the_index_finds_its_reversals_once(
    store: resources.Store,
) -> None:
    mine = transfer()
    first = TransferReversal(mine, 100, {})
    del mine._reversals  # as unpickled from an older state file
    second = TransferReversal(mine, 100, {})
    assert [r.id for r in mine.reversals()] == [second.id, first.id]


WRITER = """
import asyncio, json, sys, time
from pathlib import Path
from stripe_sandbox import state

path = Path(sys.argv[1])
state.use_state_file(path)
slow = state._dump
def dump(store):
    time.sleep(0.6)  # a large store
    slow(store)
state._dump = dump

async def main():
    state.store["sandbox:test"] = {"n": 1}  # a change: the file is due
    began = time.monotonic()
    state.save()
    await asyncio.sleep(0.05)
    answered = time.monotonic() - began  # what a request behind it waited
    while not path.exists():
        await asyncio.sleep(0.05)
    written = time.monotonic() - began
    state.store["sandbox:test"] = {"n": 2}
    state.save()
    return answered, written

answered, written = asyncio.run(main())
state.flush()  # at shutdown: the last change, in the process
print(json.dumps({"answered": answered, "written": written}))
"""


def test_the_state_is_written_behind_by_a_child_while_the_loop_answers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.state"
    out = subprocess.run(
        [sys.executable, "-c", WRITER, str(path)],
        env=dict(os.environ, PYTHONPATH=str(SANDBOX)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    times = json.loads(out.stdout.splitlines()[-1])
    assert times["answered"] < 0.5, times  # not held for the 0.6 s write
    assert times["written"] >= 0.6, times  # the child wrote it meanwhile
    saved = pickle.loads(path.read_bytes())
    assert saved["sandbox:test"] == {"n": 2}  # and the shutdown wrote the last
