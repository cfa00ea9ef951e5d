"""Confirmation pages for what cannot be undone: releasing a payout run, rejecting
an application, offboarding a communicator, a communicator erasing their own data,
rejecting (voiding) a stipend, disabling a staff account, signing a reconciliation
off, reversing a programme's funding.

The form that asks for such a step posts as before; without `confirmed=yes` the
handler answers with templates/confirm.html instead of acting: what exactly will
happen (amounts, counts, names of things), the same fields again as hidden inputs
with `confirmed=yes`, a dangerous button (`.danger`) and a way back. Only that
second post acts. No route is added: the confirmation is the action's own answer,
so what may confirm is what may act (the route's roles and CSRF token)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway.base import Call, GatewayBase
from gateway.http import CONFIRMED_FIELD

KEY = "idempotency_key"  # the asking form's: confirming is that one command
# never carried: a second factor's code is typed on the confirmation page itself
NOT_CARRIED = frozenset({"csrf", CONFIRMED_FIELD, KEY, "code"})


def confirmed(call: Call) -> bool:
    return call.form.get(CONFIRMED_FIELD) == "yes"


def confirmation(
    service: GatewayBase,
    call: Call,
    kind: str,
    back: str,
    error: str | None = None,
    status: int = 200,
    **facts: Any,
) -> Response:
    """The confirmation page of `kind` (its words are in confirm.html), with
    `facts` to say exactly what will happen and `back` the page to return to;
    drawn again with `error` when the confirmed step was refused for what is
    typed on it (a release's code)."""
    carried = [
        (name, value)
        for name, values in call.request.form.lists()
        if name not in NOT_CARRIED
        for value in values
    ]
    return service.render(
        call,
        "confirm.html",
        status=status,
        error=error,
        kind=kind,
        back=back,
        action=call.request.path,
        carried=carried,
        key=call.request.form.get(KEY),
        facts=facts,
    )
