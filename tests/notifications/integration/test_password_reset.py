"""The password-reset and staff-invitation mail: the link asked of the registry at
send time, by email at once, in the language the registry gives; nothing sent for a
reset the registry no longer knows; a redelivered event sends nothing new."""

import uuid
from typing import Any

from notifications.templates import render
from tests.helpers import publish_event, wait_until
from tests.notifications.integration.conftest import RegistryStandIn


def a_reset(purpose: str, language: str) -> tuple[str, str, str]:
    """A reset the stand-in registry will answer for: its id, address and token."""
    reset_id, token = str(uuid.uuid4()), uuid.uuid4().hex + "x" * 11
    address = f"r.{reset_id[:8]}@example.org"
    RegistryStandIn.resets[reset_id] = {
        "email": address,
        "language": language,
        "token": token,
        "purpose": purpose,
    }
    return reset_id, address, token


def requested(notifications: Any, reset_id: str) -> dict[str, Any]:
    return notifications.publish(
        "account.password_reset_requested.v1", "registry", reset_id=reset_id
    )


def link(notifications: Any, token: str, language: str) -> str:
    """The link a mail carries: to the page in the mail's own language (an outside
    reading: English mails opened Russian pages)."""
    public = str(notifications.container.config["PUBLIC_URL"]).rstrip("/")
    return f"{public}/reset-password?token={token}&lang={language}"


def test_a_reset_mails_the_link_once_and_an_invitation_gives_three_days(
    notifications: Any,
) -> None:
    reset_id, address, token = a_reset("reset", "en")
    event = requested(notifications, reset_id)
    mail = notifications.mail_to(address)
    expected = render(
        "password_reset", "en", minutes=30, link=link(notifications, token, "en")
    )
    assert (mail.subject, mail.body.strip()) == (
        expected.subject,
        expected.body.strip(),
    )
    assert link(notifications, token, "en") in mail.body
    wait_until(lambda: notifications.processed(event["event_id"]), "the claim")

    publish_event(notifications.amqp_uri, dict(event))  # the same event, redelivered
    invited, invited_address, invited_token = a_reset("invitation", "ru")
    requested(notifications, invited)
    invitation = notifications.mail_to(invited_address)
    expected = render(
        "staff_invitation",
        "ru",
        hours=72,
        link=link(notifications, invited_token, "ru"),
    )
    assert (invitation.subject, invitation.body.strip()) == (
        expected.subject,
        expected.body.strip(),
    )
    assert len(notifications.smtp.to(address)) == 1  # the redelivery sent nothing
    assert RegistryStandIn.callers.count("notifications") == 2


def test_a_reset_the_registry_no_longer_knows_sends_nothing(
    notifications: Any,
) -> None:
    gone = str(uuid.uuid4())  # used, expired or erased before the mail went
    event = requested(notifications, gone)
    wait_until(lambda: notifications.processed(event["event_id"]), "the claim")
    reset_id, address, _ = a_reset("reset", "en")
    requested(notifications, reset_id)
    notifications.mail_to(address)
    assert len(notifications.smtp.received) == 1
