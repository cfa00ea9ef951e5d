"""RPC arguments through marshmallow: a bad one becomes the service's own
invalid-input error, with one message per field, and changes nothing.

    load = arguments.loader(InvalidRequest)
    ident = arguments.id_loader(InvalidRequest)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, ValidationError, fields

from svyaz.errors import ServiceError


class _IdSchema(Schema):
    id = fields.UUID(required=True)


_ID = _IdSchema()


def loader(error: type[ServiceError]) -> Callable[[Schema, Any], dict[str, Any]]:
    def load(schema: Schema, data: Any) -> dict[str, Any]:
        try:
            return dict(schema.load(data if data is not None else {}))
        except ValidationError as exc:
            raise error(
                "the request is invalid", "invalid_input", exc.messages_dict
            ) from None

    return load


def id_loader(error: type[ServiceError]) -> Callable[..., uuid.UUID]:
    def ident(value: Any, name: str = "id") -> uuid.UUID:
        try:
            return uuid.UUID(str(_ID.load({"id": value})["id"]))
        except ValidationError:
            raise error(
                f"{name} is not a valid id", "invalid_id", {name: ["not a valid id"]}
            ) from None

    return ident
