"""tests.helpers.run_entrypoint answers a test's call with the worker it spawned.
nameko's entrypoint_hook answers with whichever worker of the method ends first:
a refusal a test expected once came back as the counts the gateway had asked the
same method for, meanwhile (gateway-integration-2, CI on 2026-12-07)."""

import eventlet
import pytest
from nameko.containers import ServiceContainer
from nameko.testing.services import dummy, entrypoint_hook

from tests.helpers import run_entrypoint


class Counter:
    name = "counter"

    @dummy
    def count(self, who: str, pause: float) -> dict[str, int]:
        eventlet.sleep(pause)
        if who != "staff":
            raise PermissionError("this needs the role finance")
        return {"runs_to_release": 0}


@pytest.fixture
def container():
    container = ServiceContainer(Counter, {})
    container.start()
    yield container
    container.kill()


def meanwhile(container: ServiceContainer) -> None:
    """Another caller's worker of the same method, ending before the test's."""
    entrypoint = next(iter(container.entrypoints))
    container.spawn_worker(entrypoint, ("staff", 0.05), {})


def test_the_hook_of_nameko_is_answered_by_another_worker(container) -> None:
    """The race itself, so that the helper below is known to matter."""
    meanwhile(container)
    with entrypoint_hook(container, "count") as count:
        assert count("communicator", 0.3) == {"runs_to_release": 0}


def test_a_call_is_answered_by_its_own_worker(container) -> None:
    meanwhile(container)
    with pytest.raises(PermissionError, match="role"):
        run_entrypoint(container, "count", "communicator", 0.3)
    meanwhile(container)
    assert run_entrypoint(container, "count", "staff", 0.3) == {"runs_to_release": 0}


def test_a_worker_that_does_not_end_is_a_timeout(container) -> None:
    with pytest.raises(TimeoutError, match="count did not end"):
        run_entrypoint(container, "count", "staff", 5, timeout=0.2)


def test_a_method_the_service_does_not_have_is_named(container) -> None:
    with pytest.raises(LookupError, match="counter has no entrypoint nope"):
        run_entrypoint(container, "nope")
