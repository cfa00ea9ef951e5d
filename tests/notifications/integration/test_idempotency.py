"""Every notifications command (tests/contracts/test_commands.py), sent over the real
bus and sent again with the same idempotency key as if its answer had been lost:
the second answer is the first, and what the command touches is as the first left
it (a parked delivery retried is mailed once, and audited once)."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from svyaz import idempotency
from svyaz.errors import Conflict
from svyaz.keys import GATEWAY
from svyaz.rpc_proxy import ClusterRpcProxy
from tests.contracts.test_commands import commands_of
from tests.helpers import wait_until
from tests.notifications.integration.conftest import actor
from tests.notifications.integration.test_reliability import delivery, reject

ADMIN = actor(str(uuid.uuid4()), "program_admin")


def send(notifications: Any, key: str, method: str, *args: Any) -> Any:
    config = dict(notifications.container.config, BUS_IDENTITY=GATEWAY)
    with idempotency.keyed(key), ClusterRpcProxy(config, timeout=30) as rpc:
        return getattr(rpc.notifications, method)(*args)


def rows(notifications: Any, query: str, **params: Any) -> list[str]:
    return sorted(str(tuple(r)) for r in notifications.sql(query, **params))


def parked(notifications: Any) -> tuple[Any, str]:
    """A delivery parked after its attempts (the mail server away), the server
    back; (the delivery, the address)."""
    ident, address = notifications.communicator("en")
    notifications.smtp.stop()
    body = reject(notifications, ident)
    row = wait_until(
        lambda: (
            (found := delivery(notifications, body["event_id"]))
            and found.status == "parked"
            and found
        ),
        "the delivery to be parked",
        timeout=30,
    )
    notifications.smtp.start()
    return row, address


def inbox_message(notifications: Any) -> tuple[str, int]:
    ident, address = notifications.communicator("en")
    notifications.publish("communicator.rejected.v1", "registry", communicator_id=ident)
    notifications.mail_to(address)
    (message,) = notifications.call("list_inbox", actor(ident))
    return ident, message["id"]


def state_of_inbox(notifications: Any, ident: str) -> list[str]:
    return rows(
        notifications,
        "SELECT id, read_at FROM inbox_messages WHERE recipient_id = :r",
        r=ident,
    )


# each command: its arguments, and what its effect is seen in
Scenario = Callable[[Any], tuple[tuple[Any, ...], Callable[[], Any]]]


def _mark_read(n: Any) -> tuple[tuple[Any, ...], Callable[[], Any]]:
    ident, message = inbox_message(n)
    return (actor(ident), message), lambda: state_of_inbox(n, ident)


def _set_preferences(n: Any) -> tuple[tuple[Any, ...], Callable[[], Any]]:
    ident, _ = n.communicator("en")
    changes = {"timezone": "Asia/Tbilisi", "quiet_start": "22:00", "quiet_end": "07:00"}
    return (actor(ident), changes), lambda: rows(
        n, "SELECT p::text FROM preferences p WHERE recipient_id = :r", r=ident
    )


def _parked_action(n: Any) -> tuple[tuple[Any, ...], Callable[[], Any]]:
    row, address = parked(n)

    def seen() -> Any:
        return (
            len(n.smtp.to(address)),
            rows(
                n, "SELECT id, status, attempts FROM deliveries WHERE id = :i", i=row.id
            ),
            rows(
                n,
                "SELECT action, outcome FROM parked_actions WHERE subject_id = :s",
                s=str(row.id),
            ),
        )

    return (ADMIN, row.id, "the mail server is back"), seen


SCENARIOS: dict[str, Scenario] = {
    "mark_read": _mark_read,
    "set_preferences": _set_preferences,
    "retry_parked": _parked_action,
    "discard_parked": _parked_action,
}


def test_every_notifications_command_has_a_scenario() -> None:
    assert set(SCENARIOS) == commands_of("notifications")


@pytest.mark.parametrize("method", sorted(SCENARIOS))
def test_a_command_sent_again_after_its_answer_was_lost_takes_effect_once(
    notifications: Any, method: str
) -> None:
    args, effect = SCENARIOS[method](notifications)
    key = uuid.uuid4().hex
    before = effect()
    first = send(notifications, key, method, *args)
    after_first = effect()
    assert after_first != before, "the command changed nothing: not a scenario"
    again = send(notifications, key, method, *args)
    assert again == first
    assert effect() == after_first
    # the first answer was kept (mark_read would do nothing twice anyway)
    (row,) = notifications.sql(
        "SELECT signer, method FROM command_results WHERE key LIKE :k", k=f"{key}.%"
    )
    assert tuple(row) == (GATEWAY, method)


def test_a_key_used_again_for_other_preferences_is_refused(notifications: Any) -> None:
    ident, _ = notifications.communicator("en")
    key = uuid.uuid4().hex
    send(notifications, key, "set_preferences", actor(ident), {"timezone": "UTC"})
    with pytest.raises(Conflict) as refused:
        send(
            notifications,
            key,
            "set_preferences",
            actor(ident),
            {"timezone": "Asia/Tbilisi"},
        )
    assert refused.value.code == "idempotency_key_reused"
    (prefs,) = notifications.sql(
        "SELECT timezone FROM preferences WHERE recipient_id = :r", r=ident
    )
    assert prefs[0] == "UTC"
