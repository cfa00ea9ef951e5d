"""Who the gateway serves, in the words the routes declare."""

from __future__ import annotations

ADMIN = "program_admin"
FINANCE = "finance"
COORDINATOR = "club_coordinator"
COMMUNICATOR = "communicator"

STAFF = (ADMIN, FINANCE, COORDINATOR)
SIGNED_IN = (COMMUNICATOR, *STAFF)  # anyone with a full session
