"""The password-reset (or staff invitation) mail: the one-time link, by email only
and at once (no inbox, no quiet hours: it lives 30 minutes)."""

from __future__ import annotations

import uuid

from notifications.channels import Channel
from notifications.exceptions import DeliveryFailed
from notifications.logic.courier import Transaction
from notifications.logic.recipients import ResetLinks
from notifications.templates import render
from svyaz import inbox
from svyaz.envelope import ReceivedEvent
from svyaz.languages import language_of

RESET_MINUTES = 30  # what the registry gives a reset link
INVITATION_HOURS = 72  # and a staff member's first password


def link_to(public_url: str, token: str, language: str | None = None) -> str:
    """The page the mail links to, in the mail's own language (the page would
    otherwise speak the browser's, or Russian)."""
    spoken = language_of(language)
    return f"{public_url.rstrip('/')}/reset-password?token={token}&lang={spoken}"


def send_reset(
    transaction: Transaction,
    links: ResetLinks,
    email: Channel,
    event: ReceivedEvent,
    reset_id: uuid.UUID,
    public_url: str,
) -> None:
    """The token is asked of the registry now, used in this mail and kept nowhere
    here; a redelivery before the claim sends a new link, which replaces the
    first."""
    with transaction() as session:
        if inbox.seen(session, event):
            return
    issued = links.reset_link(reset_id)  # None: used, expired or erased meanwhile
    if issued is not None:
        link = link_to(public_url, issued["token"], issued["language"])
        if issued["purpose"] == "invitation":  # a staff member's first password
            message = render(
                "staff_invitation",
                issued["language"],
                hours=INVITATION_HOURS,
                link=link,
            )
        else:
            message = render(
                "password_reset", issued["language"], minutes=RESET_MINUTES, link=link
            )
        try:
            email.send(
                issued["email"],
                message,
                discreet=True,  # the neutral sender, like every mail to them
                message_id=str(event.event_id),
            )
        except DeliveryFailed as exc:  # retried by the bus, then parked
            raise RuntimeError(f"reset mail not sent: {exc}") from None
    with transaction() as session:
        inbox.claim(session, event)
