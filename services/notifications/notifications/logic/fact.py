"""What an `Act` (courier.Act) meets: one claimed event, the session it was claimed
in, and how to tell someone about it. Its own module, so that the logic modules
the courier imports (work items) can take a `Fact` without importing the courier."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.logic.deliveries import tell
from svyaz.envelope import ReceivedEvent


@dataclass(frozen=True)
class Fact:
    """An event as an `Act` meets it: claimed in `session` at `now`, its payload
    loaded (`data`), and the channels its deliveries may go out on."""

    session: Session
    event: ReceivedEvent
    data: dict[str, Any]
    now: datetime
    channels: Mapping[str, Channel]

    @property
    def at(self) -> datetime:
        """When the event happened (its `occurred_at`)."""
        return self.event.occurred_at

    @property
    def communicator_id(self) -> uuid.UUID:
        """The communicator the event is about."""
        return self.data["communicator_id"]  # type: ignore[no-any-return]

    def tell(
        self,
        recipient_id: uuid.UUID,
        template: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """The event's deliveries to one communicator (`deliveries.tell`)."""
        return tell(
            self.session,
            self.event.event_id,
            recipient_id,
            template,
            params or {},
            self.channels,
            self.now,
        )
