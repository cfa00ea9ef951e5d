"""Who is acting, with the registry's own errors (see svyaz.actors)."""

from __future__ import annotations

from registry.exceptions import InvalidRequest, NotAllowed
from svyaz import actors
from svyaz.actors import ROLES

__all__ = ["ROLES", "Actor"]


class Actor(actors.Actor):
    invalid = InvalidRequest
    not_allowed = NotAllowed
