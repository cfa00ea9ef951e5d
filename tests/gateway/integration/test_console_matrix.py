"""Who may open each page of the web consoles and send each of its forms: every
console route × every role, against the real gateway and services. A route missing
from the table fails the test, so a new page is always placed in it.

Ids in the paths are unknown ones, so an allowed role meets a 404 or a 400 at worst
and nothing changes; what is tested is the gate: anonymous visitors are sent to
sign in, signed-in people of another role are refused (403), and the roles a route
is for get past the gate."""

import uuid

from gateway.http import HttpEntrypoint
from gateway.service import GatewayService
from tests.gateway.integration.test_api import ROLES, World, world  # noqa: F401

ADMIN, FINANCE, COORDINATOR = "program_admin", "finance", "club_coordinator"
COMMUNICATORS = {"communicator", COORDINATOR}  # a coordinator is a communicator too
SIGNED_IN = {*COMMUNICATORS, ADMIN, FINANCE}
PUBLIC = None  # open to everyone: sign-in, applying, resets, health, static, webhook

CONSOLE: dict[tuple[str, str], set[str] | None] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/apply"): PUBLIC,
    ("POST", "/apply"): PUBLIC,
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): PUBLIC,
    ("POST", "/sign-in/enroll"): PUBLIC,
    ("POST", "/sign-out"): PUBLIC,
    ("GET", "/forgot-password"): PUBLIC,
    ("POST", "/forgot-password"): PUBLIC,
    ("GET", "/reset-password"): PUBLIC,
    ("POST", "/reset-password"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/static/<name>"): PUBLIC,
    ("POST", "/webhooks/stripe"): PUBLIC,
    # a communicator's own pages (a coordinator is one too)
    ("GET", "/me"): COMMUNICATORS,
    ("GET", "/me/payouts"): COMMUNICATORS,
    ("POST", "/me/payout-setup"): COMMUNICATORS,
    ("POST", "/me/bank-details"): COMMUNICATORS,
    ("GET", "/me/security"): COMMUNICATORS,
    ("POST", "/me/security"): COMMUNICATORS,
    ("POST", "/me/security/confirm"): COMMUNICATORS,
    ("POST", "/me/erase"): COMMUNICATORS,
    ("GET", "/me/report"): COMMUNICATORS,
    ("POST", "/me/report"): COMMUNICATORS,
    # everyone signed in, their own
    ("GET", "/me/inbox"): SIGNED_IN,
    ("POST", "/me/inbox/<int:message_id>/read"): SIGNED_IN,
    ("GET", "/me/preferences"): SIGNED_IN,
    ("POST", "/me/preferences"): SIGNED_IN,
    ("GET", "/coordinator"): {COORDINATOR},
    # program admins
    ("GET", "/admin/applications"): {ADMIN},
    ("GET", "/admin/applications/<communicator_id>"): {ADMIN},
    ("POST", "/admin/applications/<communicator_id>"): {ADMIN},
    ("GET", "/admin/communicators"): {ADMIN},
    ("POST", "/admin/communicators"): {ADMIN},
    ("GET", "/admin/review-items"): {ADMIN},
    ("POST", "/admin/review-items/<item_id>"): {ADMIN},
    ("GET", "/admin/reports"): {ADMIN},
    ("POST", "/admin/reports/<report_id>"): {ADMIN},
    ("POST", "/admin/cycles/<cycle_id>/close"): {ADMIN},
    ("GET", "/admin/stipends"): {ADMIN},
    ("POST", "/admin/stipends/<stipend_id>"): {ADMIN},
    ("GET", "/admin/clubs"): {ADMIN},
    ("POST", "/admin/clubs"): {ADMIN},
    ("POST", "/admin/trainings"): {ADMIN},
    ("GET", "/admin/corridors"): {ADMIN},
    ("POST", "/admin/corridors"): {ADMIN},
    ("GET", "/admin/staff"): {ADMIN},
    ("POST", "/admin/staff"): {ADMIN},
    ("POST", "/admin/staff/<account_id>"): {ADMIN},
    ("POST", "/admin/second-factor-resets/<reset_id>"): {ADMIN},
    ("GET", "/admin/budgets"): {ADMIN, FINANCE},
    # finance
    ("GET", "/finance"): {FINANCE},
    ("POST", "/finance/cycles/<cycle_id>/runs"): {FINANCE},
    ("GET", "/finance/runs/<run_id>"): {FINANCE},
    ("GET", "/finance/runs/<run_id>/payouts.<kind>"): {FINANCE, ADMIN},
    ("POST", "/finance/runs/<run_id>/release"): {FINANCE},
    ("POST", "/finance/payouts/<payout_id>"): {FINANCE},
    ("GET", "/finance/reconciliations"): {FINANCE},
    ("POST", "/finance/reconciliations"): {FINANCE},
    ("GET", "/finance/reconciliations/<reconciliation_id>"): {FINANCE},
    ("GET", "/finance/reconciliations/<reconciliation_id>/items.<kind>"): {
        FINANCE,
        ADMIN,
    },
    ("POST", "/finance/reconciliations/<reconciliation_id>/resolve"): {FINANCE},
    ("POST", "/finance/reconciliations/<reconciliation_id>/sign-off"): {FINANCE},
}


def console_routes() -> set[tuple[str, str]]:
    found = set()
    for name in dir(GatewayService):
        for entrypoint in getattr(
            getattr(GatewayService, name), "nameko_entrypoints", ()
        ):
            if isinstance(entrypoint, HttpEntrypoint) and not entrypoint.url.startswith(
                "/api/"
            ):
                found.add((entrypoint.method, entrypoint.url))
    return found


def test_every_console_route_has_a_row() -> None:
    routes = console_routes()
    assert sorted(routes - set(CONSOLE)) == [], "console routes missing from the table"
    assert sorted(set(CONSOLE) - routes) == [], "rows for routes that are gone"


def concrete(url: str) -> str:
    """The route with unknown ids (nothing is found, so nothing changes)."""
    unknown = str(uuid.uuid4())
    for name in (
        "communicator_id",
        "item_id",
        "report_id",
        "cycle_id",
        "stipend_id",
        "account_id",
        "reset_id",
        "run_id",
        "payout_id",
        "reconciliation_id",
    ):
        url = url.replace(f"<{name}>", unknown)
    return (
        url.replace("<int:message_id>", "999999999")
        .replace("<kind>", "csv")
        .replace("<name>", "console.css")
    )


def test_every_console_route_for_every_role(world: World) -> None:  # noqa: F811
    wrong: list[str] = []
    for (method, url), allowed in sorted(CONSOLE.items()):
        if allowed is PUBLIC:
            continue
        path = concrete(url)
        for role in ROLES:
            client = world.clients[role]
            data = {"csrf": client.csrf} if method == "POST" else None
            response = client.http.request(
                method,
                client.url + path,
                data=data,
                allow_redirects=False,
                timeout=30,
            )
            to_sign_in = response.status_code in (302, 303) and response.headers.get(
                "Location", ""
            ).endswith("/sign-in")
            if role == "anonymous":
                ok = to_sign_in
                want = "sent to sign in"
            elif role in allowed:
                ok = response.status_code != 403 and not to_sign_in
                want = "past the gate"
            else:
                ok = response.status_code == 403
                want = "403"
            if not ok:
                wrong.append(
                    f"{method} {url} as {role}: {response.status_code} "
                    f"{response.headers.get('Location', '')}, expected {want}"
                )
    assert not wrong, "\n".join(wrong)
