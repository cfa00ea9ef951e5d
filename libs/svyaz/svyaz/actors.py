"""Who is acting: a person as the registry's signed assertion says (svyaz.assertions),
never as a caller describes them. An RPC's actor argument is the assertion (or
`{"assertion": ..., ...}`, the shape the gateway and the CLIs pass, whose other keys
are ignored); a dict of id and roles alone is refused, whoever signed the message.

Each service subclasses `Actor` with its own error classes, so a refusal is one of its
expected exceptions:

    class Actor(actors.Actor):
        invalid = InvalidRequest
        not_allowed = NotAllowed
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from svyaz import assertions
from svyaz.errors import Forbidden, InvalidInput, ServiceError

# The roles, defined here only: every service and the gateway import them.
ADMIN = "program_admin"
FINANCE = "finance"
COORDINATOR = "club_coordinator"
COMMUNICATOR = "communicator"
STAFF_ROLES = (ADMIN, FINANCE, COORDINATOR)  # accounts made by an admin, with a TOTP
ROLES = frozenset({COMMUNICATOR, *STAFF_ROLES})


@dataclass(frozen=True)
class Actor:
    """A person, as the registry asserted at sign-in: an account id, roles, and the
    session and second factor the assertion names."""

    id: uuid.UUID
    roles: frozenset[str]
    session_id: str = ""
    totp_at: float | None = None
    stage: str = assertions.FULL

    invalid: ClassVar[type[ServiceError]] = InvalidInput
    not_allowed: ClassVar[type[ServiceError]] = Forbidden

    @classmethod
    def load(cls, data: Any, *, enrolling: bool = False) -> Self:
        """The actor an RPC argument proves: a registry-signed assertion, current.
        `enrolling` also takes a staff member who is setting up their
        authenticator (an assertion with no roles)."""
        token = data.get("assertion") if isinstance(data, Mapping) else data
        try:
            claims = assertions.verify(token)
        except assertions.InvalidAssertion as exc:
            raise cls.invalid(
                f"who is acting is not proven ({exc}): sign in again",
                "invalid_actor",
                {"actor": ["an assertion the registry signed at sign-in"]},
            ) from None
        if claims.stage != assertions.FULL and not enrolling:
            raise cls.not_allowed(
                "set up your authenticator first, then sign in again",
                "second_factor_required",
            )
        if not claims.roles <= ROLES or (not claims.roles and not enrolling):
            raise cls.invalid(
                "unknown role",
                "invalid_actor",
                {"actor": [f"roles must be among {sorted(ROLES)}"]},
            )
        return cls(claims.sub, claims.roles, claims.sid, claims.totp_at, claims.stage)

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
        role = min(self.roles) if self.roles else "enrolling"
        return f"{role}:{self.id}"
