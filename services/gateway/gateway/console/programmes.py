"""Program admins' pages about programmes and their cycles: create and edit a
programme, fund it and reverse a funding booked by mistake (finance too, after a
confirmation page), see its money; open a cycle, follow its reports, close it (what
closing will propose shown first) and lock it."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from babel import Locale
from babel.numbers import get_territory_currencies
from werkzeug.wrappers import Response

from gateway import i18n, pages, web
from gateway.base import Call, GatewayBase
from gateway.confirm import confirmation, confirmed
from gateway.exceptions import BadRequest
from gateway.http import page
from gateway.roles import ADMIN, FINANCE
from svyaz import money as svyaz_money
from svyaz.errors import Conflict, InvalidInput, NotFound, ServiceError

ADMINS = (ADMIN,)
STAFF = (ADMIN, FINANCE)
TIERS = ("volunteer", "professional")
BANDS = 3  # rows of approval bands the form offers


@cache
def currency_codes() -> tuple[str, ...]:
    """ISO 4217 codes legal tender somewhere today (CLDR, through Babel)."""
    found: set[str] = set()
    for territory in Locale.parse("en").territories:
        code = str(territory)
        if len(code) == 2 and code.isalpha():
            found.update(get_territory_currencies(code, tender=True))
    return tuple(sorted(found))


def currencies(lang: str) -> list[tuple[str, str]]:
    names = Locale.parse(i18n.language_of(lang)).currencies
    return [(code, f"{code} — {names.get(code, code)}") for code in currency_codes()]


def amount(value: str | None, currency: str, field: str) -> int:
    """A typed amount in major units as minor units, or a refusal naming the field:
    not a number (`invalid_amount`), or more decimals than the currency has (one
    code per ISO 4217 exponent, so the page says how many it takes)."""
    try:
        return i18n.to_minor(value or "", currency)
    except svyaz_money.InvalidAmount as exc:
        code = "invalid_amount"
        if exc.reason == "decimals":
            code = TOO_MANY_DECIMALS.get(svyaz_money.exponent(currency), code)
        raise BadRequest(
            f"{field} is not an amount in {currency}: {exc}",
            code,
            {field: [AMOUNT_FAULTS.get(code, "not an amount")]},
        ) from None


# the refusal for an amount with more decimals than its currency, by ISO 4217 exponent
TOO_MANY_DECIMALS = {
    0: "amount_no_decimals",
    2: "amount_two_decimals",
    3: "amount_three_decimals",
}
# what the field says (gateway.refusals.FIELD_FAULTS words it)
AMOUNT_FAULTS = {
    "amount_no_decimals": "no decimals",
    "amount_two_decimals": "at most 2 decimals",
    "amount_three_decimals": "at most 3 decimals",
}


def whole(value: str | None, field: str) -> int:
    text = (value or "").strip()
    if not text.isdigit():
        raise BadRequest(
            f"{field} is not a whole number",
            "invalid_input",
            {field: ["Not a valid integer."]},
        )
    return int(text)


class Faults:
    """A form's refused fields, collected so that the page names them all at once
    instead of one per try: `read(parse, *args)` is `parse(*args)`, or None with
    its refusal kept; `check()` raises one refusal naming every field (the single
    refusal's own code when there is one, `invalid_input` for several)."""

    def __init__(self) -> None:
        self.refusals: list[BadRequest] = []

    def read(self, parse: Any, *args: Any) -> Any:
        try:
            return parse(*args)
        except BadRequest as exc:
            self.refusals.append(exc)
            return None

    def check(self) -> None:
        if not self.refusals:
            return
        if len(self.refusals) == 1:
            raise self.refusals[0]
        fields: dict[str, Any] = {}
        for refusal in self.refusals:
            fields.update(refusal.fields or {})
        raise BadRequest(
            "; ".join(refusal.message for refusal in self.refusals),
            "invalid_input",
            fields,
        )


def programme_from_form(
    form: dict[str, str], currency: str, faults: Faults | None = None
) -> dict[str, Any]:
    """The create and edit forms as the stipends service takes a programme: amounts
    typed in major units of its currency, bands as up to three rows (an empty
    "up to" is the open-ended band). Every field that cannot be read is refused
    at once (`faults`, checked here unless the caller checks it)."""
    own = faults is None
    faults = faults or Faults()
    bands = []
    for n in range(1, BANDS + 1):
        approvers = (form.get(f"band_approvers_{n}") or "").strip()
        if not approvers:
            continue
        up_to = (form.get(f"band_up_to_{n}") or "").strip()
        bands.append(
            {
                "up_to_minor": faults.read(amount, up_to, currency, f"band_up_to_{n}")
                if up_to
                else None,
                "approvers": faults.read(whole, approvers, f"band_approvers_{n}"),
            }
        )
    programme = {
        "name": form.get("name", ""),
        "tier_amounts": {
            t: faults.read(amount, form.get(f"tier_{t}"), currency, f"tier_{t}")
            for t in TIERS
        },
        "min_accepted_reports": faults.read(
            whole, form.get("min_accepted_reports"), "min_accepted_reports"
        ),
        "min_conversations": faults.read(
            whole, form.get("min_conversations"), "min_conversations"
        ),
        "training_required": form.get("training_required") == "yes",
        "approval_bands": bands or None,
    }
    if own:
        faults.check()
    return programme


def major(amount_minor: int | None, currency: str) -> str:
    """Minor units as a form shows them in major units: 25000 EUR → "250.00"."""
    if amount_minor is None:
        return ""
    return svyaz_money.plain(amount_minor, currency)


def programme_values(programme: dict[str, Any]) -> dict[str, str]:
    """A programme as the edit form's strings (amounts in major units)."""
    currency = programme["currency"]
    values = {
        f"tier_{tier}": major(programme["tier_amounts"].get(tier, 0), currency)
        for tier in TIERS
    }
    values["min_accepted_reports"] = str(programme["min_accepted_reports"])
    values["min_conversations"] = str(programme["min_conversations"])
    values["training_required"] = "yes" if programme["training_required"] else "no"
    for n, band in enumerate(programme["approval_bands"][:BANDS], start=1):
        values[f"band_up_to_{n}"] = major(band["up_to_minor"], currency)
        values[f"band_approvers_{n}"] = str(band["approvers"])
    return values


def deadline_from_form(value: str | None) -> str:
    """A datetime-local value, read in UTC (the form says so), as ISO 8601."""
    try:
        moment = datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise BadRequest(
            "the deadline is not a date and time", "invalid_deadline"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


class ProgrammesConsole(GatewayBase):
    # -- the list, and a new programme -----------------------------------------------
    @page("GET", "/admin/programmes", roles=STAFF)
    def admin_programmes(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        return self.render(
            call,
            "admin_programmes.html",
            status=status,
            programmes=self.deadline(self.stipends.list_programmes, call.actor),
            currencies=currencies(call.lang),
            values=call.form,
            bands=BANDS,
            error=error,
        )

    @page("GET", "/admin/budgets", roles=STAFF)
    def admin_budgets(self, call: Call) -> Response:
        """The budgets page of before: the programmes list shows them now."""
        return web.redirect("/admin/programmes")

    @page("POST", "/admin/programmes", roles=ADMINS, redisplay="admin_programmes")
    def admin_create_programme(self, call: Call) -> Response:
        currency = call.form.get("currency", "").upper()
        faults = Faults()
        if currency not in currency_codes():
            faults.refusals.append(
                BadRequest(
                    "choose a currency",
                    "invalid_currency",
                    {"currency": ["Must be one of the currencies offered."]},
                )
            )
            currency = "EUR"  # the amounts are still read, to say all that is wrong
        read = programme_from_form(call.form, currency, faults)
        faults.check()
        programme = {
            **read,
            "currency": currency,
            "budget_minor": 0,
        }
        created = self.deadline(self.stipends.create_programme, call.actor, programme)
        return web.redirect(f"/admin/programmes/{created['id']}")

    # -- one programme: its rules, its money, its cycles ------------------------------
    def _programme_page(
        self,
        call: Call,
        programme_id: str,
        error: str | None = None,
        status: int = 200,
        notice: str | None = None,
    ) -> Response:
        programme = self.deadline(self.stipends.get_programme, call.actor, programme_id)
        cycles = self.deadline(self.stipends.list_cycles, call.actor, programme_id)
        return self.render(
            call,
            "admin_programme.html",
            status=status,
            programme=programme,
            cycles=cycles,
            bands=BANDS,
            values=programme_values(programme),
            me=call.actor_id,
            names=self.staff_names(call),
            error=error,
            notice=notice,
        )

    @page("GET", "/admin/programmes/<programme_id>", roles=STAFF)
    def admin_programme(self, call: Call, programme_id: str) -> Response:
        # after a funding (a redirect, so that a reload does not post it again)
        funded = call.request.args.get("funded") == "1"
        return self._programme_page(
            call,
            pages.ident(programme_id, "programme"),
            notice=call.texts["funded"] if funded else None,
        )

    @page(
        "POST",
        "/admin/programmes/<programme_id>",
        roles=ADMINS,
        redisplay="_programme_page",
    )
    def admin_update_programme(self, call: Call, programme_id: str) -> Response:
        """A stale `version` is refused and the page is drawn with the values as
        they are now, with the refusal saying someone else changed them."""
        ident = pages.ident(programme_id, "programme")
        currency = call.form.get("currency", "")
        faults = Faults()
        read = programme_from_form(call.form, currency, faults)
        version = faults.read(whole, call.form.get("version"), "version")
        faults.check()
        changes = {**read, "version": version}
        if changes["approval_bands"] is None:
            changes.pop("approval_bands")
        self.deadline(self.stipends.update_programme, call.actor, ident, changes)
        return web.redirect(f"/admin/programmes/{ident}")

    @page(
        "POST",
        "/admin/programmes/<programme_id>/funding",
        roles=STAFF,
        redisplay="_programme_page",
    )
    def admin_fund_programme(self, call: Call, programme_id: str) -> Response:
        ident = pages.ident(programme_id, "programme")
        typed = (call.form.get("amount") or "").strip()
        minor = (
            0
            if typed.startswith("-")
            else amount(typed, call.form.get("currency", ""), "amount")
        )
        if minor <= 0:  # 0 or -5: the field says so, not "not a number"
            raise BadRequest(
                "a funding adds more than zero",
                "amount_not_positive",
                {"amount": [">0"]},
            )
        try:
            self.deadline(
                self.stipends.fund_programme,
                call.actor,
                ident,
                minor,
                call.form.get("idempotency_key", ""),
            )
        except InvalidInput as exc:  # the service's amount_minor is this form's amount
            fields = dict(exc.fields or {})
            if "amount_minor" in fields:
                fields["amount"] = fields.pop("amount_minor")
            raise BadRequest(exc.message, exc.code, fields) from None
        return web.redirect(f"/admin/programmes/{ident}?funded=1")

    @page(
        "POST",
        "/admin/programmes/<programme_id>/fundings/<int:entry_id>/reversal",
        roles=STAFF,
        redisplay="_programme_page",
    )
    def admin_reverse_funding(
        self, call: Call, programme_id: str, entry_id: int
    ) -> Response:
        """A funding's row asks why; the confirmation page says what leaves the
        budget (or, when the stipends service would refuse it now, the page says
        why instead); only the confirmed post reverses it."""
        ident = pages.ident(programme_id, "programme")
        reason = call.form.get("reason", "").strip()
        if not confirmed(call):
            if not reason:
                raise BadRequest(
                    "say why the funding is reversed",
                    "reason_required",
                    {"reason": ["Missing data for required field."]},
                )
            programme = self.deadline(self.stipends.get_programme, call.actor, ident)
            funding = next(
                (f for f in programme["fundings"] if f["entry_id"] == entry_id), None
            )
            if funding is None:
                raise NotFound("no such funding of this programme", "funding_not_found")
            if funding["blocked_by"]:  # as the stipends service decided it
                raise Conflict("this funding cannot be reversed", funding["blocked_by"])
            amount_minor = funding["amount_minor"]
            return confirmation(
                self,
                call,
                "reverse_funding",
                f"/admin/programmes/{ident}",
                programme=programme,
                funding=funding,
                budget_after=programme["budget_minor"] - amount_minor,
                available_after=programme["available_minor"] - amount_minor,
                reason=reason,
            )
        self.deadline(
            self.stipends.reverse_funding, call.actor, entry_id, reason, ident
        )
        return web.redirect(f"/admin/programmes/{ident}")

    @page(
        "POST",
        "/admin/programmes/<programme_id>/cycles",
        roles=ADMINS,
        redisplay="_programme_page",
    )
    def admin_open_cycle(self, call: Call, programme_id: str) -> Response:
        """A cycle whose deadline has passed counts every report as late and
        reminds nobody: the admin confirms that this is meant (a month that is over,
        recorded afterwards)."""
        ident = pages.ident(programme_id, "programme")
        deadline = deadline_from_form(call.form.get("deadline"))
        if datetime.fromisoformat(deadline) <= datetime.now(UTC) and not confirmed(
            call
        ):
            return confirmation(
                self,
                call,
                "past_deadline",
                f"/admin/programmes/{ident}",
                period=call.form.get("period", ""),
                deadline=deadline,
            )
        cycle = self.deadline(
            self.stipends.open_cycle,
            call.actor,
            ident,
            call.form.get("period", ""),
            deadline,
        )
        return web.redirect(f"/admin/cycles/{cycle['id']}")

    # -- one cycle: progress, closing, locking ----------------------------------------
    def _cycle_page(
        self, call: Call, cycle_id: str, error: str | None = None, status: int = 200
    ) -> Response:
        progress = self.deadline(self.stipends.get_cycle_progress, call.actor, cycle_id)
        programme = self.deadline(
            self.stipends.get_programme, call.actor, progress["cycle"]["programme_id"]
        )
        return self.render(
            call,
            "admin_cycle.html",
            status=status,
            progress=progress,
            cycle=progress["cycle"],
            programme=programme,
            error=error,
        )

    @page("GET", "/admin/cycles/<cycle_id>", roles=ADMINS)
    def admin_cycle(self, call: Call, cycle_id: str) -> Response:
        return self._cycle_page(call, pages.ident(cycle_id, "cycle"))

    def _close_page(
        self, call: Call, cycle_id: str, error: str | None = None, status: int = 200
    ) -> Response:
        """What closing would propose; a cycle no longer open shows its own page
        with the refusal instead."""
        try:
            preview = self.deadline(
                self.stipends.preview_close_cycle, call.actor, cycle_id
            )
        except ServiceError as exc:
            if isinstance(exc, NotFound):
                raise
            said = web.refusal(call.lang, exc.code, exc.message)
            return self._cycle_page(call, cycle_id, error=error or said, status=409)
        for blocker in preview["blockers"]:
            blocker["said"] = web.refusal(
                call.lang, blocker["code"], blocker["message"]
            )
        return self.render(
            call,
            "admin_cycle_close.html",
            status=status,
            preview=preview,
            cycle=preview["cycle"],
            error=error,
            approvers=self._approvers_besides(call, preview),
        )

    def _approvers_besides(
        self, call: Call, preview: dict[str, Any]
    ) -> dict[str, int] | None:
        """Whoever closes proposes the stipends, and a proposer never approves: when
        some stipend needs more approvals than the other active admins can give,
        {"needed", "others"}, for the page to say so before closing; else None."""
        needed = max(
            (e["approvals_needed"] for e in preview["entitlements"] if e["eligible"]),
            default=0,
        )
        if needed == 0:
            return None
        others = sum(
            1
            for member in self.deadline(self.registry.list_staff, call.actor)
            if ADMIN in member["roles"]
            and member["state"] == "active"
            and member["id"] != call.actor["id"]
        )
        return {"needed": needed, "others": others} if others < needed else None

    @page("GET", "/admin/cycles/<cycle_id>/close", roles=ADMINS)
    def admin_close_preview(self, call: Call, cycle_id: str) -> Response:
        return self._close_page(call, pages.ident(cycle_id, "cycle"))

    @page(
        "POST", "/admin/cycles/<cycle_id>/close", roles=ADMINS, redisplay="_close_page"
    )
    def admin_close_cycle(self, call: Call, cycle_id: str) -> Response:
        ident = pages.ident(cycle_id, "cycle")
        self.deadline(self.stipends.close_cycle, call.actor, ident)
        return web.redirect(f"/admin/stipends?cycle={ident}")

    @page(
        "POST", "/admin/cycles/<cycle_id>/lock", roles=ADMINS, redisplay="_cycle_page"
    )
    def admin_lock_cycle(self, call: Call, cycle_id: str) -> Response:
        ident = pages.ident(cycle_id, "cycle")
        self.deadline(self.stipends.lock_cycle, call.actor, ident)
        return web.redirect(f"/admin/cycles/{ident}")
