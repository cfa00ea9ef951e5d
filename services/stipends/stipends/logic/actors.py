"""Who is acting: staff and communicators as the gateway vouches for them (the bus
is signed, so the gateway's word on the account id and roles is what we have)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from stipends.exceptions import InvalidRequest, NotAllowed

ROLES = frozenset({"communicator", "club_coordinator", "program_admin", "finance"})
ADMIN = "program_admin"
FINANCE = "finance"
COMMUNICATOR = "communicator"


@dataclass(frozen=True)
class Actor:
    id: uuid.UUID
    roles: frozenset[str]

    @classmethod
    def load(cls, data: Any) -> Actor:
        try:
            roles = frozenset(str(r) for r in data["roles"])
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

    def require(self, *roles: str) -> None:
        if not self.roles & set(roles):
            raise NotAllowed(
                f"this needs the role {' or '.join(roles)}", "role_required"
            )

    def is_(self, role: str) -> bool:
        return role in self.roles
