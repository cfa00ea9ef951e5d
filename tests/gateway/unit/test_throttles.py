"""Throttling without servers: which address a request counts against behind
proxies, what a bucket's key keeps (nothing readable), the settings, and that every
route that checks a credential declares its throttle (read from the routes' own
declarations, so a new sign-in-like route without one fails here)."""

import inspect
import re

import pytest

import gateway.service  # noqa: F401  (declares the routes)
from gateway import throttles
from gateway.http import ROUTES, Route
from gateway.service import GatewayService
from gateway.settings import MIN_THROTTLE_KEY, Settings
from svyaz.config import ConfigurationError

SECRET = b"k" * 32


# -- the client's address ------------------------------------------------------------
def test_without_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    assert throttles.client_address("192.0.2.7", "203.0.113.9", 0) == "192.0.2.7"
    assert throttles.client_address("192.0.2.7", None, 0) == "192.0.2.7"


def test_behind_proxies_the_address_the_outermost_trusted_proxy_saw() -> None:
    # client -> proxy A -> proxy B -> gateway: B's peer is A, A wrote the client
    forwarded = "198.51.100.1, 203.0.113.9, 10.0.0.2"  # the first one forged
    assert throttles.client_address("10.0.0.3", forwarded, 1) == "10.0.0.2"
    assert throttles.client_address("10.0.0.3", forwarded, 2) == "203.0.113.9"
    # a request that did not pass all the proxies (too few hops): the peer
    assert throttles.client_address("10.0.0.3", "203.0.113.9", 2) == "10.0.0.3"
    assert throttles.client_address("10.0.0.3", "", 1) == "10.0.0.3"
    assert throttles.client_address("10.0.0.3", " , ", 1) == "10.0.0.3"


def test_an_ipv6_client_counts_by_its_64_network() -> None:
    one = throttles.address_bucket("2001:db8:1:2:aaaa::1")
    other = throttles.address_bucket("2001:db8:1:2:bbbb::9")
    assert one == other == "2001:db8:1:2::/64"
    assert throttles.address_bucket("2001:db8:1:3::1") != one
    assert throttles.address_bucket("::ffff:192.0.2.7") == "192.0.2.7"
    assert throttles.address_bucket(" 192.0.2.7 ") == "192.0.2.7"
    assert throttles.address_bucket("not an address") == "not an address"


SECRETS = {"THROTTLE_KEY": "dev-x", "STRIPE_WEBHOOK_SECRET": "whsec_dev-x"}


def read(**config: str) -> Settings:
    return Settings.read({**SECRETS, **config})


def test_trusted_proxies_is_a_whole_number_of_proxies() -> None:
    assert read().trusted_proxies == 0
    assert read(TRUSTED_PROXIES="").trusted_proxies == 0
    assert read(TRUSTED_PROXIES="2").trusted_proxies == 2
    for wrong in ("-1", "two", "1.5"):
        with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES"):
            read(TRUSTED_PROXIES=wrong)


def test_the_key_is_a_real_secret_in_production() -> None:
    assert read().throttle_key == "dev-x"
    production = {
        "SVYAZ_ENV": "production",
        "STRIPE_WEBHOOK_SECRET": "whsec_live",
        "PROGRAMME_CONTACT": "questions@example.org",
    }
    for weak in ("dev-gateway-throttle-key-but-long-enough-to-pass", "short"):
        with pytest.raises(ConfigurationError, match="THROTTLE_KEY"):
            Settings.read({**production, "THROTTLE_KEY": weak})
    strong = "q" * MIN_THROTTLE_KEY
    assert Settings.read({**production, "THROTTLE_KEY": strong}).throttle_key
    # nor may people be told to write to the development address
    with pytest.raises(ConfigurationError, match="PROGRAMME_CONTACT"):
        Settings.read(
            {
                **production,
                "THROTTLE_KEY": strong,
                "PROGRAMME_CONTACT": "programme@svyaz.invalid",
            }
        )
    with pytest.raises(ConfigurationError, match="THROTTLE_KEY"):
        Settings.read({"STRIPE_WEBHOOK_SECRET": "whsec_dev-x"})


def test_limits_come_from_the_settings_and_refuse_nonsense() -> None:
    assert throttles.limits_of(read()) == throttles.Limits(300, 20, 10, 1000)
    limits = throttles.limits_of(
        read(
            THROTTLE_WINDOW="60",
            THROTTLE_PER_ADDRESS="3",
            THROTTLE_PER_ACCOUNT="2",
            THROTTLE_GLOBAL="50",
        )
    )
    assert [limits.of(scope) for scope in throttles.SCOPES] == [3, 2, 50]
    assert limits.window == 60
    with pytest.raises(ConfigurationError, match="THROTTLE_PER_ADDRESS"):
        read(THROTTLE_PER_ADDRESS="0")


# -- the keys --------------------------------------------------------------------------
def test_a_bucket_key_is_a_keyed_hash_that_names_nobody() -> None:
    key = throttles.bucket_key(SECRET, "sign_in", "address", "192.0.2.7")
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert key == throttles.bucket_key(SECRET, "sign_in", "address", "192.0.2.7")
    # another key, family or scope: another bucket, not to be tied to this one
    assert key != throttles.bucket_key(b"x" * 32, "sign_in", "address", "192.0.2.7")
    assert key != throttles.bucket_key(SECRET, "apply", "address", "192.0.2.7")
    assert key != throttles.bucket_key(SECRET, "sign_in", "account", "192.0.2.7")


def test_an_email_counts_as_the_registry_matches_it() -> None:
    assert (
        throttles.normalized_account("  Vera@Example.ORG ")
        == throttles.normalized_account("vera@example.org")
        == "vera@example.org"
    )


# -- the routes ------------------------------------------------------------------------
# what a credential travels in: a body field, a form field the handler reads, or the
# service call that checks one
CREDENTIAL_FIELDS = frozenset({"email", "password", "code", "token"})
CHECKS = re.compile(
    r"registry\.(sign_in|apply|request_password_reset|confirm_second_factor|"
    r"verify_second_factor)\b|self\.reset_password\(|stipends\.release_payout_run\b"
    r"|form\.get\(\"(password|code|token)\""
)
# open routes that take a POST and check no credential of a person, each with why
NOT_THROTTLED = {
    ("POST", "/sign-out"): "ends a session only with the session's own CSRF token",
    ("POST", "/webhooks/stripe"): "Stripe's signature under the endpoint secret",
}


def handlers() -> dict[tuple[str, str], object]:
    found = {}
    for name in dir(GatewayService):
        member = getattr(GatewayService, name)
        route = getattr(member, "route", None)
        if isinstance(route, Route):
            found[(route.method, route.path)] = member.handler
    return found


def checks_a_credential(route: Route, handler: object) -> bool:
    body_fields = set(route.body().fields) if route.body is not None else set()
    source = inspect.getsource(handler)  # type: ignore[arg-type]
    opened = route.roles is None and route.method == "POST"
    return bool(
        body_fields & (CREDENTIAL_FIELDS - {"email"})
        or CHECKS.search(source)
        or (opened and (route.method, route.path) not in NOT_THROTTLED)
    )


def test_every_route_that_checks_a_credential_is_throttled() -> None:
    every = handlers()
    assert set(every) == {(r.method, r.path) for r in ROUTES}
    missing = [
        f"{route.method} {route.path}"
        for route in ROUTES
        if checks_a_credential(route, every[(route.method, route.path)])
        and route.throttle is None
    ]
    assert not missing, "throttle=... missing on: " + ", ".join(missing)
    # and what the tests above found is what was meant: the sign-ins, second
    # factors, applications, resets and releases of the API and the consoles
    throttled = {(r.method, r.path): r.throttle.family for r in ROUTES if r.throttle}
    assert throttled == {
        ("POST", "/api/v1/session"): "sign_in",
        ("POST", "/sign-in"): "sign_in",
        ("POST", "/api/v1/session/second-factor"): "second_factor",
        ("POST", "/sign-in/enroll"): "second_factor",
        ("POST", "/me/security/confirm"): "second_factor",
        ("POST", "/api/v1/payout-runs/<run_id>/release"): "second_factor",
        ("POST", "/finance/runs/<run_id>/release"): "second_factor",
        ("POST", "/api/v1/applications"): "apply",
        ("POST", "/apply"): "apply",
        ("POST", "/apply/draft"): "apply_draft",
        ("POST", "/api/v1/password-resets"): "reset",
        ("POST", "/forgot-password"): "reset",
        ("POST", "/api/v1/password-resets/new-password"): "new_password",
        ("POST", "/reset-password"): "new_password",
    }


def test_a_route_counted_per_email_takes_an_email() -> None:
    every = handlers()
    for route in ROUTES:
        if route.throttle is None or route.throttle.account != "email":
            continue
        if route.body is not None:
            assert "email" in route.body().fields, route.path
        else:
            source = inspect.getsource(every[(route.method, route.path)])  # type: ignore[arg-type]
            assert "email" in source or "application_from_form" in source, route.path


def test_the_api_documents_the_429_of_every_throttled_operation() -> None:
    from gateway import openapi

    document = openapi.document()
    for route in ROUTES:
        if route.kind != "api":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", route.path)
        answers = document["paths"][path][route.method.lower()]["responses"]
        if route.throttle is None:
            assert "429" not in answers, route.path
            continue
        throttled = answers["429"]
        assert throttled["headers"]["Retry-After"]["schema"]["type"] == "integer"
        assert "application/problem+json" in throttled["content"]
