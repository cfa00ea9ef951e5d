"""Error kinds that cross service boundaries.

A service's own exceptions (`registry.exceptions.PseudonymTaken`) subclass one of these
kinds. The RPC entrypoint sends the kind (with the message, a stable `code` and any
field errors), so a caller such as the gateway can map kinds to HTTP statuses in one
table without importing another service's package.
"""

from __future__ import annotations

import re
from typing import Any

from nameko.exceptions import deserialize_to_instance


def default_code(kind: type) -> str:
    """The code of an error raised without one: its class's name in the codes'
    own style (CommunicatorNotFound: communicator_not_found)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()


class ServiceError(Exception):
    """Base of every expected, client-facing error."""

    kind = "error"

    def __init__(
        self, message: str = "", code: str = "", fields: dict[str, Any] | None = None
    ):
        code = code or default_code(type(self))
        super().__init__(message, code, fields or {})
        self.message = message
        self.code = code
        self.fields = fields or {}

    def __str__(self) -> str:
        return self.message

    def wire(self) -> ServiceError:
        """This error as the platform kind it belongs to, for the RPC reply."""
        for base in type(self).__mro__:
            if base in KINDS:
                return base(self.message, self.code, self.fields)
        return ServiceError(self.message, self.code, self.fields)


@deserialize_to_instance
class InvalidInput(ServiceError):
    kind = "invalid_input"


@deserialize_to_instance
class NotFound(ServiceError):
    kind = "not_found"


@deserialize_to_instance
class Forbidden(ServiceError):
    kind = "forbidden"


@deserialize_to_instance
class Conflict(ServiceError):
    kind = "conflict"


KINDS = (InvalidInput, NotFound, Forbidden, Conflict)
