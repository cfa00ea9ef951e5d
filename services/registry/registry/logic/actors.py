"""Who is acting: staff and communicators as the gateway vouches for them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from registry.exceptions import InvalidRequest, NotAllowed

ROLES = frozenset({"communicator", "club_coordinator", "program_admin", "finance"})


@dataclass(frozen=True)
class Actor:
    """A person, as the gateway authenticated them (the bus is signed)."""

    id: uuid.UUID
    roles: frozenset[str]

    @classmethod
    def load(cls, data: Any) -> Actor:
        try:
            roles = frozenset(data["roles"])
            actor = cls(uuid.UUID(str(data["id"])), roles)
        except (KeyError, TypeError, ValueError):
            raise InvalidRequest(
                "the actor is malformed",
                "invalid_actor",
                {"actor": ["must be {id: uuid, roles: [role, ...]}"]},
            ) from None
        if not roles or not roles <= ROLES:
            raise InvalidRequest(
                "unknown role",
                "invalid_actor",
                {"actor": [f"roles must be among {sorted(ROLES)}"]},
            )
        return actor

    @property
    def label(self) -> str:
        """How the access log names this person: role and id, no name."""
        return f"{sorted(self.roles)[0]}:{self.id}"

    def require(self, *roles: str) -> None:
        if not self.roles & set(roles):
            raise NotAllowed(
                f"this needs the role {' or '.join(roles)}", "role_required"
            )

    def is_(self, role: str) -> bool:
        return role in self.roles
