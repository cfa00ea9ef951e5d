"""Events become notifications, read back from a real SMTP server on loopback and
from the in-app inbox: each in Russian and in English, discreet, once."""

import uuid
from typing import Any

import pytest

from notifications.templates import render
from tests.helpers import wait_until
from tests.notifications.integration.conftest import (
    RegistryStandIn,
    actor,
)

REPORT, CYCLE, STIPEND = (str(uuid.uuid4()) for _ in range(3))

MONEY = {"amount_minor": 30000, "currency": "EUR"}
PAYOUT = {"payout_id": str(uuid.uuid4()), "stipend_id": STIPEND, "cycle_id": CYCLE,
          "provider": "bank_file", **MONEY}  # fmt: skip

# (event type, producer, payload besides communicator_id, template, its parameters)
NOTIFYING = [
    ("communicator.applied.v1", "registry", {"pseudonym": "finch_1"},
     "application_received", {}),
    ("communicator.activated.v1", "registry", {"pseudonym": "finch_1", "club_id": None},
     "application_accepted", {}),
    ("communicator.rejected.v1", "registry", {}, "application_rejected", {}),
    ("communicator.payout_setup_needed.v1", "registry", {"provider": "bank_file"},
     "payout_setup_needed", {"provider": "bank_file"}),
    ("report.reviewed.v1", "stipends",
     {"report_id": REPORT, "cycle_id": CYCLE, "decision": "accepted"},
     "report_accepted", {}),
    ("report.reviewed.v1", "stipends",
     {"report_id": REPORT, "cycle_id": CYCLE, "decision": "changes_requested"},
     "report_changes_requested", {}),
    ("strategy.commented.v1", "stipends",
     {"strategy_id": STIPEND, "comment_id": REPORT, "version": 1, "by_mentor": True},
     "strategy_comment", {}),
    ("stipend.approved.v1", "stipends",
     {"stipend_id": STIPEND, "cycle_id": CYCLE, "amount_minor": 30000,
      "currency": "EUR"},
     "stipend_approved", {"amount_minor": 30000, "currency": "EUR"}),
    ("payout.paid.v1", "stipends", PAYOUT, "payout_paid", MONEY),
    # the producer's reason code (svyaz.vocabulary) reaches the template as it is
    ("payout.failed.v1", "stipends", {**PAYOUT, "reason": "destination_rejected"},
     "payout_failed", {**MONEY, "reason": "destination_rejected"}),
    ("payout.failed.v1", "stipends", {**PAYOUT, "reason": "returned"},
     "payout_failed", {**MONEY, "reason": "returned"}),
    # finance's answer to "it did not arrive": the code, worded by the template
    ("payout.receipt_resolved.v1", "stipends",
     {"payout_id": PAYOUT["payout_id"], "resolution": "paid_confirmed_by_provider"},
     "receipt_resolved", {"resolution": "paid_confirmed_by_provider"}),
]  # fmt: skip

DISCREET = {
    "ru": ("Новое сообщение", "В вашем личном кабинете новое сообщение"),
    "en": ("New message", "You have a new message in your account"),
}
GIVEAWAYS = ("stipend", "стипенд", "300", "€", "eur", "svyaz", "report", "отчёт",
             "payment", "выплат", "application", "заявк", "finch")  # fmt: skip


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize(
    ("event_type", "producer", "data", "template", "params"),
    NOTIFYING,
    ids=[f"{row[3]}-{row[2].get('reason', '')}" for row in NOTIFYING],
)
def test_each_notification_reaches_mail_and_inbox_in_the_recipients_language(
    notifications: Any,
    language: str,
    event_type: str,
    producer: str,
    data: dict[str, Any],
    template: str,
    params: dict[str, Any],
) -> None:
    ident, address = notifications.communicator(language)
    notifications.publish(event_type, producer, communicator_id=ident, **data)

    mail = notifications.mail_to(address)
    subject, sentence = DISCREET[language]
    assert mail.subject == subject
    assert sentence in mail.body
    assert mail.sender == "Account <no-reply@account.invalid>"  # a neutral sender
    headers = mail.raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert b"svyaz" not in headers.lower()  # Message-ID included
    for word in GIVEAWAYS:
        assert word not in (mail.subject + mail.body).lower(), word

    # the details wait behind sign-in, in the same language
    (message,) = notifications.call("list_inbox", actor(ident))
    expected = render(template, language, **params)
    assert (message["subject"], message["body"]) == (expected.subject, expected.body)
    assert message["read"] is False
    assert RegistryStandIn.callers  # the contact was asked for at send time


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_member_an_applicant_named_is_asked_to_vouch_discreetly(
    notifications: Any, language: str
) -> None:
    voucher, address = notifications.communicator(language)
    applicant, applicant_address = notifications.communicator(language)
    notifications.publish(
        "vouch.requested.v1", "registry", vouch_id=str(uuid.uuid4()), voucher_id=voucher
    )
    mail = notifications.mail_to(address)
    assert (mail.subject, DISCREET[language][1] in mail.body) == (
        DISCREET[language][0],
        True,
    )
    (message,) = notifications.call("list_inbox", actor(voucher))
    expected = render("vouch_requested", language)
    assert (message["subject"], message["body"]) == (expected.subject, expected.body)
    assert ("Vouching" if language == "en" else "Поручительство") in message["body"]
    assert notifications.call("list_inbox", actor(applicant)) == []
    assert notifications.smtp.to(applicant_address) == []


def test_the_language_asked_by_the_gateway_wins_for_the_inbox(
    notifications: Any,
) -> None:
    ident, address = notifications.communicator("ru")
    notifications.publish("communicator.rejected.v1", "registry", communicator_id=ident)
    notifications.mail_to(address)
    (english,) = notifications.call("list_inbox", actor(ident), {"language": "en"})
    assert english["subject"] == "Your application was not accepted"
    (russian,) = notifications.call("list_inbox", actor(ident))
    assert russian["subject"] == "Ваша заявка не принята"


def test_mark_read_touches_only_ones_own_messages(notifications: Any) -> None:
    ident, address = notifications.communicator("en")
    other, _ = notifications.communicator("en")
    notifications.publish("communicator.rejected.v1", "registry", communicator_id=ident)
    notifications.mail_to(address)
    (message,) = notifications.call("list_inbox", actor(ident))
    from svyaz.errors import InvalidInput, NotFound

    with pytest.raises(NotFound):
        notifications.call("mark_read", actor(other), message["id"])
    with pytest.raises(InvalidInput):
        notifications.call("mark_read", actor(ident), "one")
    assert notifications.call("list_inbox", actor(ident))[0]["read"] is False
    notifications.call("mark_read", actor(ident), message["id"])
    assert notifications.call("list_inbox", actor(ident))[0]["read"] is True
    assert notifications.call("list_inbox", actor(ident), {"unread_only": True}) == []


def test_a_redelivered_event_sends_once(notifications: Any) -> None:
    ident, address = notifications.communicator("en")
    body = notifications.publish(
        "stipend.approved.v1",
        "stipends",
        communicator_id=ident,
        stipend_id=STIPEND,
        cycle_id=CYCLE,
        amount_minor=100,
        currency="EUR",
    )
    notifications.mail_to(address)
    from tests.helpers import publish_event

    for _ in range(3):
        publish_event(notifications.amqp_uri, body)  # the broker redelivers
    # a later event on the same queue: once its mail is in, the copies were handled
    marker, marker_address = notifications.communicator("en")
    notifications.publish(
        "stipend.approved.v1",
        "stipends",
        communicator_id=marker,
        stipend_id=str(uuid.uuid4()),  # a stipend of the marker's own
        cycle_id=CYCLE,
        amount_minor=100,
        currency="EUR",
    )
    notifications.mail_to(marker_address)
    wait_until(
        lambda: queue_idle(notifications.amqp_uri, "notifications.on_stipend_approved"),
        "the queue to drain",
    )
    assert len(notifications.smtp.to(address)) == 1
    assert len(notifications.call("list_inbox", actor(ident))) == 1
    rows = notifications.sql(
        "SELECT channel, status FROM deliveries WHERE event_id = :e ORDER BY channel",
        e=body["event_id"],
    )
    assert [tuple(r) for r in rows] == [("email", "sent"), ("inbox", "sent")]


def queue_idle(amqp_uri: str, queue: str) -> bool:
    import requests
    from kombu import Connection

    vhost = Connection(amqp_uri).virtual_host
    info = requests.get(
        f"http://127.0.0.1:15672/api/queues/{requests.utils.quote(vhost, safe='')}/"
        f"{queue}",
        auth=("guest", "guest"),
        timeout=10,
    ).json()
    return info.get("messages", 1) == 0 and info.get("messages_unacknowledged", 1) == 0


def test_a_bad_payload_is_parked_and_sends_nothing(notifications: Any) -> None:
    ident, address = notifications.communicator("en")
    notifications.publish(
        "report.reviewed.v1",
        "stipends",
        communicator_id=ident,
        report_id=REPORT,
        cycle_id=CYCLE,
        decision="maybe",
    )
    from tests.helpers import take

    parked = take(notifications.amqp_uri, "notifications.on_report_reviewed.dlq")
    assert "decision" in parked.headers["x-svyaz-reason"]
    assert notifications.smtp.to(address) == []
    assert notifications.sql("SELECT count(*) FROM deliveries")[0][0] == 0


def test_copies_of_an_event_handled_at_the_same_time_send_once(
    notifications: Any,
) -> None:
    from tests.helpers import publish_event

    ident, address = notifications.communicator("ru")
    body = {
        "event_id": str(uuid.uuid4()),
        "event_type": "communicator.payout_setup_needed.v1",
        "occurred_at": "2026-11-24T00:00:00+00:00",
        "producer": "registry",
        "correlation_id": "c",
        "data": {"communicator_id": ident, "provider": "stripe_connect"},
    }
    for _ in range(5):  # all on the queue before the first is handled
        publish_event(notifications.amqp_uri, body)
    notifications.mail_to(address)
    wait_until(
        lambda: queue_idle(
            notifications.amqp_uri, "notifications.on_communicator_payout_setup_needed"
        ),
        "the copies to be handled",
    )
    assert len(notifications.smtp.to(address)) == 1
    assert len(notifications.call("list_inbox", actor(ident))) == 1
