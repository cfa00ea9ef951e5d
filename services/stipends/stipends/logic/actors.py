"""Who is acting, with the stipends service's own errors (see svyaz.actors)."""

from __future__ import annotations

from stipends.exceptions import InvalidRequest, NotAllowed
from svyaz import actors
from svyaz.actors import ADMIN, COMMUNICATOR, COORDINATOR, FINANCE, ROLES

__all__ = ["ADMIN", "COMMUNICATOR", "COORDINATOR", "FINANCE", "ROLES", "Actor"]


class Actor(actors.Actor):
    invalid = InvalidRequest
    not_allowed = NotAllowed
