"""Who a notification is for, and how to reach them: the contact is asked of the
registry at send time and held in memory only."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from notifications.models import COMMUNICATOR, STAFF_ROLES, staff_audience
from svyaz.actors import Actor


@dataclass(frozen=True)
class Recipient:
    id: uuid.UUID
    audience: str = COMMUNICATOR


@dataclass(frozen=True)
class Contact:
    """What the registry tells us at send time; held in memory only."""

    email: str | None = None
    telegram: str | None = None
    language: str | None = None  # a communicator's profile: it decides
    default_language: str | None = None  # a staff member's: after their choice
    signs_in: bool = False  # a communicator with a password set

    def address(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.telegram


class ContactBook(Protocol):
    def contact(self, recipient: Recipient, purpose: str) -> Contact:
        """The recipient's contact; RecipientGone or DeliveryFailed otherwise."""
        ...

    def contacts(
        self, recipients: Sequence[Recipient], purpose: str
    ) -> Mapping[uuid.UUID, Contact]:
        """Several recipients' contacts in one call (`get_contacts`), by id; one
        the registry no longer knows is left out (gone). DeliveryFailed when the
        registry cannot answer."""
        ...


class StaffDirectory(Protocol):
    def staff_ids(self, role: str) -> list[uuid.UUID]:
        """The ids (no addresses) of the staff who hold `role`."""
        ...


class ResetLinks(Protocol):
    def reset_link(self, reset_id: uuid.UUID) -> dict[str, Any] | None:
        """The one-time link's token, purpose, address and language; None when the
        request was used, expired or erased meanwhile."""
        ...


def of_actor(who: Actor) -> Recipient:
    """The signed-in person as a recipient: staff when they hold a staff role."""
    roles = sorted(who.roles & set(STAFF_ROLES))
    return Recipient(who.id, staff_audience(roles[0]) if roles else COMMUNICATOR)


def staff(ids: Iterable[uuid.UUID], role: str) -> list[Recipient]:
    """Staff members holding `role`, as recipients of that role's messages."""
    return [Recipient(ident, staff_audience(role)) for ident in ids]
