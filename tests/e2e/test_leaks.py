"""The leak scanner over a run of the whole system: people apply, are accepted, give
bank details, ask for a password reset, onboard to Stripe and get a stipend approved;
meanwhile every message on RabbitMQ, every log line, every request to the Stripe
sandbox and every email subject is kept, and none holds a personal value of these
fixtures. A second test plants a value in each source, so the scanner is seen to
look at every one of them."""

import smtplib
import uuid
from email.message import EmailMessage

import requests

from svyaz import signing
from tests.helpers import actor, publish_raw, wait_until
from tests.journeys import active_communicator, approved_stipend, as_console
from tests.leaks import BusTap, measured, scan, sources
from tests.stack import System

PERSON = {
    "legal_name": "Ярослава Темникова",
    "email": "yaroslava.temnikova@example.org",
    "city": "Кобулети",
}
BANK = {
    "holder": "Ярослава Темникова",
    "iban": "GE29NB0000000101904917",
    "bic": "NBGEGE22",
}
VALUES = (
    "Ярослава",
    "Темникова",
    "yaroslava.temnikova",
    "Кобулети",
    "GE29NB0000000101904917",
    "0000000101904917",
)


def test_nothing_the_system_says_holds_a_personal_value(system: System) -> None:
    tap = BusTap(system.settings.amqp_uri)
    try:
        with system.rpc() as rpc:
            person = active_communicator(
                system, rpc, country="GE", password="a long passphrase here", **PERSON
            )
            communicator = actor(["communicator"], person["id"])
            with as_console():
                assert rpc.registry.start_payout_setup(communicator)["provider"] == (
                    "bank_file"
                )
                rpc.registry.set_bank_details(communicator, BANK)
            approved_stipend(system, rpc)  # another person: Stripe onboarding too
        reset = requests.post(
            f"{system.url}/api/v1/password-resets",
            json={"email": PERSON["email"]},
            timeout=30,
        )
        assert reset.status_code == 202
        mails = wait_until(
            lambda: [m for m in system.mails() if m["To"] == PERSON["email"]][1:],
            "the welcome and the reset mail",
            timeout=30,
        )
        assert mails
        wait_until(
            lambda: system.sql(
                "stipends",
                "SELECT 1 FROM communicators WHERE id = :i AND payout_ready",
                i=person["id"],
            ),
            "stipends to know the bank details are set",
        )
        found = scan(VALUES, sources(system, tap))
    finally:
        tap.close()
    print(found.summary())
    assert found.counts["bus"] > 20 and found.counts["events opened"] > 5
    assert found.counts["stripe"] >= 3 and found.counts["mail"] >= 2
    assert found.counts["logs"] > 20
    assert found.counts["metrics pages"] > 100
    assert found.counts["prometheus series"] > 100
    assert found.findings == []


def test_the_scanner_sees_every_source(system: System) -> None:
    plant = f"plant-{uuid.uuid4().hex[:10]}"
    tap = BusTap(system.settings.amqp_uri)
    try:
        # a message on the bus, and an event whose opened data holds it (routed
        # where no service listens: only the tap gets them)
        publish_raw(
            system.settings.amqp_uri,
            "registry.events",
            "leak.plant.v1",
            f'{{"note": "{plant}-bus"}}',
        )
        envelope = {
            "event_id": str(uuid.uuid4()),
            "event_type": "leak.plant.v1",
            "occurred_at": "2026-11-24T00:00:00+00:00",
            "producer": "registry",
            "correlation_id": "leak-plant",
            "data": {"pseudonym": f"{plant}-event"},
        }
        publish_raw(
            system.settings.amqp_uri,
            "registry.events",
            "leak.plant.v1",
            signing.encode(envelope),
        )
        # a log line
        with (system.stack.logs / "registry.log").open("a") as log:
            log.write(f"planted {plant}-log\n")
        # a Stripe request
        system_sandbox = requests.post(
            f"{system.sandbox}/v1/customers",
            data={"description": f"{plant}-stripe"},
            headers={"Authorization": "Bearer sk_test_dev-plant"},
            timeout=30,
        )
        assert system_sandbox.status_code == 200
        # an email subject
        message = EmailMessage()
        message["From"], message["To"] = "a@example.org", "b@example.org"
        message["Subject"] = f"{plant}-mail"
        message.set_content("planted")
        with smtplib.SMTP("127.0.0.1", system.settings.smtp_port) as smtp:
            smtp.send_message(message)
        wait_until(
            lambda: [m for m in system.mails() if plant in str(m["Subject"])],
            "the planted mail",
        )
        wait_until(
            lambda: tap.channel.queue_declare(tap.name, passive=True).message_count,
            "the planted messages on the tap",
        )
        found = scan(
            [f"{plant}-{where}" for where in ("bus", "event", "log", "stripe", "mail")],
            sources(system, tap),
        )
    finally:
        tap.close()
    assert sorted(found.findings) == sorted(
        [
            ("bus", f"{plant}-bus"),
            ("events opened", f"{plant}-event"),
            ("logs", f"{plant}-log"),
            ("stripe", f"{plant}-stripe"),
            ("mail", f"{plant}-mail"),
        ]
    )


def test_the_scanner_reads_the_metrics_pages_and_prometheus(system: System) -> None:
    """No outside value can reach a label (that is the point), so what is looked
    for here is a label the code itself writes: the scanner must find it in both."""
    wait_until(
        lambda: "stipends.on_communicator_applied" in system.metrics_page("stipends"),
        "the stipends metrics page",
    )
    wait_until(
        lambda: any(
            "stipends.on_communicator_applied" in line
            for line in measured(system)["prometheus series"]
        ),
        "Prometheus to store the series",
        timeout=30,
    )
    found = scan(["stipends.on_communicator_applied"], measured(system))
    assert {source for source, _ in found.findings} == {
        "metrics pages",
        "prometheus series",
    }
