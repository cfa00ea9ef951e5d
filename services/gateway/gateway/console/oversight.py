"""Program admins' oversight pages: verify the access log's hash chain and browse
it (who read whose data, when, why; pseudonyms only), and the parked work of every
service (undeliverable notifications, parked bus messages), each retried or
discarded with a reason the service audits."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from marshmallow import ValidationError
from werkzeug.wrappers import Response

from gateway import oversight, web
from gateway.base import Call
from gateway.http import page
from gateway.roles import ADMIN
from gateway.schemas import AccessLogQuerySchema
from gateway.schemas.people import REVERSED_DATES
from svyaz.errors import InvalidInput

ADMINS = (ADMIN,)
LOG_PAGE = 50
ACTIONS = ("retry", "discard")
FILTERS = ("pseudonym", "reader_id", "since", "until")


def _action(form: dict[str, str]) -> tuple[str, str]:
    action = form.get("action", "")
    if action not in ACTIONS:
        raise InvalidInput("choose retry or discard", "unknown_action")
    reason = form.get("reason", "")
    if len(reason) < 3:
        raise InvalidInput("say why, in three characters or more", "reason_required")
    return action, reason


class OversightConsole(oversight.OversightCalls):
    # -- the access log ----------------------------------------------------------------
    def _oversight_page(
        self,
        call: Call,
        error: str | None = None,
        status: int = 200,
        check: dict[str, Any] | None = None,
    ) -> Response:
        return self.render(
            call, "admin_oversight.html", status=status, check=check, error=error
        )

    @page("GET", "/admin/oversight", roles=ADMINS)
    def admin_oversight(self, call: Call) -> Response:
        return self._oversight_page(call)

    @page(
        "POST",
        "/admin/oversight/access-log/verification",
        roles=ADMINS,
        redisplay="_oversight_page",
    )
    def admin_verify_access_log(self, call: Call) -> Response:
        check = self.deadline(self.registry.verify_access_log, call.actor)
        return self._oversight_page(call, check=check)

    @page("GET", "/admin/oversight/access-log", roles=ADMINS)
    def admin_access_log(self, call: Call) -> Response:
        args = call.request.args
        given = {k: args[k].strip() for k in FILTERS if (args.get(k) or "").strip()}
        number = args.get("page", "1")
        number_ok = number.isdigit() and 1 <= int(number) <= 100_000
        page_number = int(number) if number_ok else 1
        staff = self.deadline(self.registry.list_staff, call.actor)
        found: dict[str, Any] = {"items": [], "total": 0}
        error = None
        try:
            query = AccessLogQuerySchema().load(
                {**given, "offset": (page_number - 1) * LOG_PAGE, "limit": LOG_PAGE}
            )
            found = self.access_log(call, query)
        except ValidationError as exc:
            reversed_ = REVERSED_DATES in str(exc.messages)
            code = "reversed_dates" if reversed_ else "invalid_log_filter"
            error = web.refusal(call.lang, code, "")
        except InvalidInput as exc:
            error = web.refusal(call.lang, exc.code, exc.message)

        def link(to: int) -> str:
            return "/admin/oversight/access-log?" + urlencode({**given, "page": to})

        pages = max(1, -(-int(found["total"]) // LOG_PAGE))
        return self.render(
            call,
            "admin_access_log.html",
            status=400 if error else 200,
            items=found["items"],
            total=found["total"],
            page=page_number,
            pages=pages,
            previous=link(page_number - 1) if page_number > 1 else None,
            next=link(page_number + 1) if page_number < pages else None,
            filters=given,
            staff=staff,
            roles_of={member["id"]: member for member in staff},
            me=call.actor_id,
            error=error,
        )

    # -- parked work -------------------------------------------------------------------
    @page("GET", "/admin/oversight/parked", roles=ADMINS)
    def admin_parked(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        proxies = self.proxies()
        staff = self.deadline(self.registry.list_staff, call.actor)
        done = call.request.args.get("done")
        return self.render(
            call,
            "admin_parked.html",
            status=status,
            deliveries=self.deadline(self.notifications.list_parked, call.actor),
            services=oversight.all_parked(proxies, self.deadline, call.actor),
            actions=oversight.all_actions(proxies, self.deadline, call.actor),
            roles_of={member["id"]: member for member in staff},
            me=call.actor_id,
            done=done if done in ("retry", "discard") else None,
            error=error,
        )

    @page(
        "POST",
        "/admin/oversight/parked/deliveries/<delivery_id>",
        roles=ADMINS,
        redisplay="admin_parked",
    )
    def admin_act_on_delivery(self, call: Call, delivery_id: str) -> Response:
        action, reason = _action(call.form)
        method = {
            "retry": self.notifications.retry_parked,
            "discard": self.notifications.discard_parked,
        }[action]
        self.deadline(
            method, call.actor, oversight.delivery_number(delivery_id), reason
        )
        return web.redirect(f"/admin/oversight/parked?done={action}#audit")

    @page(
        "POST",
        "/admin/oversight/parked/messages/<service>/<message_id>",
        roles=ADMINS,
        redisplay="admin_parked",
    )
    def admin_act_on_message(
        self, call: Call, service: str, message_id: str
    ) -> Response:
        action, reason = _action(call.form)
        self.act_on_message(call, service, message_id, action, reason)
        return web.redirect(f"/admin/oversight/parked?done={action}#audit")
