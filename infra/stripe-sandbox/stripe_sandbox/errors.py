"""Errors answered the way Stripe answers them: {"error": {type, code, message}}."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.type, self.code, self.param = type, code, param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


def invalid(
    message: str, param: str | None = None, code: str | None = None
) -> StripeError:
    return StripeError(400, message, param=param, code=code or "parameter_invalid")


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def not_found(kind: str, id: str, param: str = "id") -> StripeError:
    return StripeError(
        404, f"No such {kind}: '{id}'", param=param, code="resource_missing"
    )
