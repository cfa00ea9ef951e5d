"""Who is acting: staff and communicators as the gateway vouches for them (the bus is
signed, so the gateway's word on the account id and roles is what a service has).

Each service subclasses `Actor` with its own error classes, so a refusal is one of its
expected exceptions:

    class Actor(actors.Actor):
        invalid = InvalidRequest
        not_allowed = NotAllowed
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from svyaz.errors import Forbidden, InvalidInput, ServiceError

ROLES = frozenset({"communicator", "club_coordinator", "program_admin", "finance"})
ADMIN = "program_admin"
FINANCE = "finance"
COORDINATOR = "club_coordinator"
COMMUNICATOR = "communicator"


@dataclass(frozen=True)
class Actor:
    """A person, as the gateway authenticated them: an account id and roles."""

    id: uuid.UUID
    roles: frozenset[str]

    invalid: ClassVar[type[ServiceError]] = InvalidInput
    not_allowed: ClassVar[type[ServiceError]] = Forbidden

    @classmethod
    def load(cls, data: Any) -> Self:
        """`{"id": uuid, "roles": [role, ...]}` from an RPC argument, checked."""
        try:
            roles = frozenset(str(r) for r in data["roles"])
            actor = cls(uuid.UUID(str(data["id"])), roles)
        except (KeyError, TypeError, ValueError):
            raise cls.invalid(
                "the actor is malformed",
                "invalid_actor",
                {"actor": ["must be {id: uuid, roles: [role, ...]}"]},
            ) from None
        if not roles or not roles <= ROLES:
            raise cls.invalid(
                "unknown role",
                "invalid_actor",
                {"actor": [f"roles must be among {sorted(ROLES)}"]},
            )
        return actor

    def require(self, *roles: str) -> None:
        if not self.roles & set(roles):
            raise self.not_allowed(
                f"this needs the role {' or '.join(roles)}", "role_required"
            )

    def is_(self, role: str) -> bool:
        return role in self.roles

    @property
    def label(self) -> str:
        """How an access log names this person: role and id, no name."""
        return f"{sorted(self.roles)[0]}:{self.id}"
