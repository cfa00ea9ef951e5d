"""Who may reach every route of the gateway, the consoles' pages and forms and the
JSON API alike: every route × every role, against the real gateway and services.

The rows come from the routes' own declarations (gateway.http.ROUTES, the list the
entrypoints and the OpenAPI document are made from), so what is tested is what is
declared and nothing can be added without its roles. The test checks the gate
itself: anonymous visitors are sent to sign in (pages) or get 401 (API), signed-in
people of another role are refused (403), and the roles a route is for get past the
gate. Ids in the paths are unknown ones and bodies are empty, so an allowed role
meets a 400 or a 404 at worst and nothing changes. Which *records* each role may
touch is tested with real objects in test_api.py."""

import re
import uuid

import gateway.service  # noqa: F401  (declares the routes)
from gateway.http import ROUTES, HttpEntrypoint, Route
from gateway.roles import ADMIN, COMMUNICATOR, COORDINATOR, FINANCE
from tests.gateway.integration.test_api import ROLES, World, world  # noqa: F401

# what each test client's session holds (a coordinator is a communicator too)
HOLDS = {
    "communicator": {COMMUNICATOR},
    COORDINATOR: {COORDINATOR, COMMUNICATOR},
    ADMIN: {ADMIN},
    FINANCE: {FINANCE},
}
# signing out ends the client's session: it goes last
LAST = ("DELETE", "/api/v1/session")


def declared() -> list[Route]:
    return sorted(
        (route for route in ROUTES if route.roles is not None),
        key=lambda r: ((r.method, r.path) == LAST, r.kind, r.path, r.method),
    )


def test_every_entrypoint_is_declared_once_with_its_roles() -> None:
    """Nothing reaches the gateway around the declarations: every HTTP entrypoint
    of the service is a declared route, and no route is declared twice."""
    entrypoints = set()
    for name in dir(gateway.service.GatewayService):
        member = getattr(gateway.service.GatewayService, name)
        for entrypoint in getattr(member, "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpEntrypoint):
                entrypoints.add((entrypoint.method, entrypoint.url))
                assert member.route.path == entrypoint.url
    routes = [(r.method, r.path) for r in ROUTES]
    assert len(routes) == len(set(routes)), "a route is declared twice"
    assert set(routes) == entrypoints
    for route in ROUTES:
        if route.roles is None:
            assert route.kind == "raw" or route.csrf in ("anonymous", "none")
        else:
            assert route.roles, f"{route.path}: an empty role list admits nobody"
            unsafe = route.method in ("POST", "PUT", "PATCH", "DELETE")
            assert route.csrf == ("session" if unsafe else "none"), route.path


def test_the_open_routes_are_the_ones_meant_to_be_open() -> None:
    """A route open to everyone is a decision: this list changes only on purpose."""
    open_routes = {(r.method, r.path) for r in ROUTES if r.roles is None}
    assert open_routes == {
        ("GET", "/"),
        ("GET", "/apply"),
        ("POST", "/apply"),
        ("POST", "/apply/draft"),  # saving or deleting the applicant's own draft
        ("GET", "/sign-in"),
        ("POST", "/sign-in"),
        ("GET", "/sign-in/enroll"),  # sends back to /sign-in: nothing to show
        ("POST", "/sign-in/enroll"),
        ("POST", "/sign-out"),
        ("GET", "/leave"),  # the quick exit: ends the session of whoever asks
        ("GET", "/apply/leave"),  # the same, and deletes the applicant's draft
        ("GET", "/forgot-password"),
        ("POST", "/forgot-password"),
        ("GET", "/reset-password"),
        ("POST", "/reset-password"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/static/<name>"),
        ("POST", "/webhooks/stripe"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/application-form"),  # what applying takes: no one's data
        ("POST", "/api/v1/applications"),
        ("POST", "/api/v1/session"),
        ("POST", "/api/v1/session/second-factor"),
        ("POST", "/api/v1/password-resets"),
        ("POST", "/api/v1/password-resets/new-password"),
    }


def concrete(url: str) -> str:
    """The route with unknown ids (nothing is found, so nothing changes)."""
    url = (
        url.replace("<int:message_id>", "999999999")
        .replace("<int:entry_id>", "999999999")  # a ledger entry (a funding)
        .replace("<kind>", "csv")
        .replace("<name>", "console.css")
    )
    assert "<int:" not in url, f"give {url}'s number a value here"
    return re.sub(r"<[a-z_]+>", str(uuid.uuid4()), url)


def test_every_route_for_every_role(world: World) -> None:  # noqa: F811
    wrong: list[str] = []
    for route in declared():
        path = concrete(route.path)
        for role in ROLES:
            client = world.clients[role]
            if route.kind == "api":
                response = client.http.request(
                    route.method,
                    client.url + path,
                    json={} if route.method != "GET" else None,
                    headers={"X-CSRF-Token": client.csrf} if client.csrf else {},
                    allow_redirects=False,
                    timeout=30,
                )
                refused_anonymous = response.status_code == 401
            else:
                response = client.http.request(
                    route.method,
                    client.url + path,
                    data={"csrf": client.csrf} if route.method == "POST" else None,
                    allow_redirects=False,
                    timeout=30,
                )
                refused_anonymous = response.status_code in (
                    302,
                    303,
                ) and response.headers.get("Location", "").endswith("/sign-in")
            if role == "anonymous":
                ok, want = refused_anonymous, "sent to sign in (401 for the API)"
            elif HOLDS[role] & set(route.roles or ()):
                ok = response.status_code not in (401, 403) and not refused_anonymous
                want = "past the gate"
            else:
                ok, want = response.status_code == 403, "403"
            if not ok:
                wrong.append(
                    f"{route.method} {route.path} as {role}: {response.status_code} "
                    f"{response.headers.get('Location', '')}, expected {want}"
                )
    assert not wrong, "\n".join(wrong)
