"""Who the gateway serves, in the words the routes declare."""

from __future__ import annotations

from svyaz.actors import ADMIN, COMMUNICATOR, COORDINATOR, FINANCE
from svyaz.actors import STAFF_ROLES as STAFF

__all__ = ["ADMIN", "COMMUNICATOR", "COORDINATOR", "FINANCE", "STAFF", "SIGNED_IN"]

SIGNED_IN = (COMMUNICATOR, *STAFF)  # anyone with a full session
