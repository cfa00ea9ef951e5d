"""The registry's thin slice against PostgreSQL and RabbitMQ: applications are
recorded sealed, announced by event, and contacts are read only by notifications."""

from typing import Any

import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import create_engine, text

from registry.service import RegistryService
from svyaz import signing
from svyaz.errors import Forbidden, InvalidInput
from tests.helpers import take

APPLICATION = {
    "pseudonym": "swallow_7",
    "email": "Irina.Petrova@example.org",
    "country": "KZ",
    "language": "en",
    "consent": True,
}


@pytest.fixture
def registry(database: Any, service_config: Any, container_factory: Any) -> Any:
    url = database("registry")
    container = container_factory(
        RegistryService, service_config("registry", DB_URI=url)
    )
    container.start()
    container.db_url = url
    return container


@pytest.fixture
def applied_events(rabbit_config: dict[str, Any]) -> str:
    """A queue that witnesses every communicator.applied.v1."""
    import kombu

    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        kombu.Queue(
            "witness",
            kombu.Exchange("registry.events", type="topic"),
            routing_key="communicator.applied.v1",
        )(conn.channel()).declare()
    return "witness"


def rows(url: str, sql: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def test_an_application_is_sealed_and_announced_without_personal_data(
    registry: Any, applied_events: str, rabbit_config: dict[str, Any]
) -> None:
    with entrypoint_hook(registry, "apply") as apply:
        assert apply(APPLICATION) == {"status": "received"}

    message = take(rabbit_config["AMQP_URI"], applied_events)
    event = signing.decode(message.body)
    assert event["event_type"] == "communicator.applied.v1"
    assert set(event["data"]) == {"communicator_id", "pseudonym"}
    assert event["data"]["pseudonym"] == "swallow_7"
    raw = message.body.decode() if isinstance(message.body, bytes) else message.body
    assert "Irina" not in raw and "example.org" not in raw and "KZ" not in raw

    # the raw table holds no plaintext personal field
    table = rows(registry.db_url, "SELECT * FROM communicators")
    assert len(table) == 1
    dump = " ".join(str(value) for value in table[0])
    for secret in ("Irina", "irina", "example.org", "KZ"):
        assert secret not in dump


def test_a_known_email_gets_the_same_answer_and_changes_nothing(
    registry: Any, rabbit_config: dict[str, Any]
) -> None:
    with entrypoint_hook(registry, "apply") as apply:
        first = apply(APPLICATION)
        again = apply(
            {
                **APPLICATION,
                "pseudonym": "other_name",
                "email": "  irina.petrova@EXAMPLE.org ",
            }
        )
    assert first == again == {"status": "received"}
    assert len(rows(registry.db_url, "SELECT id FROM communicators")) == 1
    assert len(rows(registry.db_url, "SELECT id FROM outbox")) == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"country": "RU"}, "country", "unknown country code RU"),
        ({"email": "not-an-email"}, "email", "Not a valid email address."),
        ({"consent": False}, "consent", "consent to the consent text is required"),
        (
            {"pseudonym": "a"},
            "pseudonym",
            "3 to 30 letters, digits, '.', '_' or '-', starting with a letter or digit",
        ),
    ],
)
def test_a_bad_application_gets_a_specific_error_and_changes_nothing(
    registry: Any, change: dict[str, Any], field: str, message: str
) -> None:
    with (
        entrypoint_hook(registry, "apply") as apply,
        pytest.raises(InvalidInput) as err,
    ):
        apply({**APPLICATION, **change})
    assert err.value.fields == {field: [message]}
    assert rows(registry.db_url, "SELECT id FROM communicators") == []
    assert rows(registry.db_url, "SELECT id FROM outbox") == []


def test_a_taken_pseudonym_is_refused(registry: Any) -> None:
    with entrypoint_hook(registry, "apply") as apply:
        apply(APPLICATION)
        with pytest.raises(InvalidInput) as err:
            apply({**APPLICATION, "email": "someone.else@example.org"})
    assert err.value.code == "pseudonym_taken"
    assert len(rows(registry.db_url, "SELECT id FROM communicators")) == 1


def test_contacts_are_read_only_by_notifications_and_every_read_is_logged(
    registry: Any,
) -> None:
    with entrypoint_hook(registry, "apply") as apply:
        apply(APPLICATION)
    (communicator_id,) = rows(registry.db_url, "SELECT id FROM communicators")[0]

    with entrypoint_hook(
        registry, "get_contact", context_data={"svyaz.caller": "notifications"}
    ) as get_contact:
        contact = get_contact(str(communicator_id), "notification:test")
    assert contact == {
        "communicator_id": str(communicator_id),
        "email": "Irina.Petrova@example.org",
        "language": "en",
    }
    log = rows(registry.db_url, "SELECT accessor, field, purpose FROM pii_access_log")
    assert [tuple(r) for r in log] == [("notifications", "email", "notification:test")]

    for caller in ("gateway", None):
        context = {"svyaz.caller": caller} if caller else {}
        with entrypoint_hook(
            registry, "get_contact", context_data=context
        ) as get_contact:
            with pytest.raises(Forbidden):
                get_contact(str(communicator_id), "curiosity")
    assert len(rows(registry.db_url, "SELECT id FROM pii_access_log")) == 1
