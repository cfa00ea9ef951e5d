"""infra/dev/stack.py's free_port: a port nobody listens on, kept from every other
draw while the process that drew it lives, and below the kernel's ephemeral range
(side-by-side test systems must never draw the same port)."""

import fcntl
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import devstack


@pytest.fixture
def ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(devstack, "PORTS", tmp_path)
    return tmp_path


def draws(monkeypatch: pytest.MonkeyPatch, *ports: int) -> None:
    """The ports the next draws come out as, in order."""
    sequence: Iterator[int] = iter(ports)
    monkeypatch.setattr(devstack.random, "randrange", lambda *_: next(sequence))


def a_free_port_below(low: int, skip: set[int]) -> int:
    for port in range(10_000, low):
        if port not in skip and devstack._bindable(port):
            return port
    raise AssertionError("no free port on this machine")


def test_ports_drawn_are_distinct_below_the_ephemeral_range(ports: Path) -> None:
    drawn = [devstack.free_port() for _ in range(40)]
    assert len(set(drawn)) == 40
    low = devstack._ephemeral_low()
    assert all(10_000 <= port < low for port in drawn)
    assert {p.name for p in ports.iterdir()} == {str(p) for p in drawn}


def test_a_port_another_process_holds_is_skipped(
    ports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    low = devstack._ephemeral_low()
    held = a_free_port_below(low, set())
    other = a_free_port_below(low, {held})
    with (ports / str(held)).open("ab") as handle:  # as another process holds it
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        draws(monkeypatch, held, other)
        assert devstack.free_port() == other


def test_a_port_something_listens_on_is_skipped(
    ports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        taken = server.getsockname()[1]
        other = a_free_port_below(devstack._ephemeral_low(), {taken})
        draws(monkeypatch, taken, other)
        assert devstack.free_port() == other
