"""Notifications DependencyProviders: the channels, and the registry's contact book."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import eventlet
from marshmallow import ValidationError
from nameko.extensions import DependencyProvider

from notifications.channels import Channel, EmailChannel, InboxChannel, TelegramChannel
from notifications.exceptions import DeliveryFailed, RecipientGone
from notifications.logic.recipients import Contact, Recipient
from notifications.models import COMMUNICATOR, MENTOR_AUDIENCE
from notifications.schemas import (
    ContactIn,
    ContactsIn,
    MentorIn,
    ResetLinkIn,
    StaffContactIn,
)
from notifications.settings import Settings
from svyaz import settings
from svyaz.consuming import Unprocessable
from svyaz.errors import NotFound
from svyaz.rpc_proxy import RpcProxy

CONTACT, STAFF_CONTACT, RESET_LINK = ContactIn(), StaffContactIn(), ResetLinkIn()
CONTACTS = ContactsIn(many=True)
MENTORS = MentorIn(many=True)
CONTACTS_AT_ONCE = 100  # the registry's limit per get_contacts call


class Channels(DependencyProvider):
    """Every channel by name; a worker gets the mapping."""

    def setup(self) -> None:
        own = settings.of(self.container, Settings)
        channels: list[Channel] = [
            InboxChannel(),
            EmailChannel(
                host=own.smtp_host,
                port=own.smtp_port,
                sender=own.mail_from,
                staff_sender=own.staff_sender,
                timeout=own.smtp_timeout,
                pool_size=own.smtp_pool_size,
                starttls=own.smtp_starttls,
                user=own.smtp_user,
                password=own.smtp_password,
            ),
            TelegramChannel(
                token=own.telegram_bot_token,
                api_base=own.telegram_api,
                timeout=own.telegram_timeout,
            ),
        ]
        self.channels = {channel.name: channel for channel in channels}

    def stop(self) -> None:
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                close()

    kill = stop

    def get_dependency(self, worker_ctx: Any) -> dict[str, Channel]:
        return self.channels


class RegistryContacts:
    """The contact book: asks the registry at send time, keeps nothing."""

    def __init__(self, registry: Any, timeout: float):
        self.registry, self.timeout = registry, timeout

    def contact(self, recipient: Recipient, purpose: str) -> Contact:
        try:
            with eventlet.Timeout(self.timeout):
                if recipient.audience == COMMUNICATOR:
                    data = CONTACT.load(
                        self.registry.get_contact(str(recipient.id), purpose)
                    )
                    return Contact(
                        email=data["email"],
                        language=data["language"],
                        signs_in=data["signs_in"],
                    )
                staff = STAFF_CONTACT.load(
                    self.registry.get_staff_contact(str(recipient.id), purpose)
                )  # this one person's address, not the whole role's
                return Contact(
                    email=staff["email"], default_language=staff["default_language"]
                )
        except NotFound:
            raise RecipientGone("the registry no longer knows the recipient") from None
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - retried later
            raise DeliveryFailed(f"registry: {type(exc).__name__}") from None

    def contacts(
        self, recipients: Sequence[Recipient], purpose: str
    ) -> dict[uuid.UUID, Contact]:
        """Contacts by id, up to CONTACTS_AT_ONCE per `get_contacts` call (one call
        per audience in practice); the unknown are left out (gone)."""
        wanted: dict[str, list[str]] = {}
        for recipient in recipients:
            kind = "communicator" if recipient.audience == COMMUNICATOR else "staff"
            ids = wanted.setdefault(kind, [])
            if str(recipient.id) not in ids:
                ids.append(str(recipient.id))
        found: dict[uuid.UUID, Contact] = {}
        try:
            for kind, ids in wanted.items():
                for at in range(0, len(ids), CONTACTS_AT_ONCE):
                    chunk = ids[at : at + CONTACTS_AT_ONCE]
                    with eventlet.Timeout(self.timeout):
                        answer = self.registry.get_contacts(chunk, purpose, kind)
                    for row in CONTACTS.load(answer):
                        found[row["id"]] = Contact(
                            email=row["email"],
                            language=row.get("language"),
                            default_language=row.get("default_language"),
                            signs_in=row["signs_in"],
                        )
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - retried later
            raise DeliveryFailed(f"registry: {type(exc).__name__}") from None
        return found

    def staff_ids(self, role: str) -> list[uuid.UUID]:
        return [uuid.UUID(ident) for ident in self.registry.list_staff_ids(role)]

    def mentors(self, communicator_id: uuid.UUID) -> list[Recipient]:
        """The club coordinator who mentors this communicator, as a recipient (a
        coordinator with a staff account hears as staff); ids only."""
        with eventlet.Timeout(self.timeout):
            found = MENTORS.load(self.registry.get_mentors(str(communicator_id)))
        return [
            Recipient(
                row["id"],
                COMMUNICATOR if row["kind"] == "communicator" else MENTOR_AUDIENCE,
            )
            for row in found
        ]

    def reset_link(self, reset_id: uuid.UUID) -> dict[str, Any] | None:
        try:
            issued: dict[str, Any] = RESET_LINK.load(
                self.registry.issue_password_reset(str(reset_id))
            )
        except NotFound:  # used, expired or erased meanwhile: nothing to send
            return None
        except ValidationError as exc:  # parked with the reason, not retried
            raise Unprocessable(f"bad reset link: {list(exc.messages)}") from None
        return issued


class Contacts(RpcProxy):
    """The registry over RPC, as a contact book (`RegistryContacts`): a contact is
    asked for at send time and waits at most REGISTRY_TIMEOUT seconds (10)."""

    def __init__(self, **options: Any) -> None:
        super().__init__("registry", **options)

    def setup(self) -> None:
        super().setup()
        self.lookup_timeout = settings.of(self.container, Settings).registry_timeout

    def get_dependency(self, worker_ctx: Any) -> RegistryContacts:  # type: ignore[override]
        return RegistryContacts(super().get_dependency(worker_ctx), self.lookup_timeout)
