"""What a request may carry: each route's body cap (413), JSON only on /api routes
(415, the login-CSRF fix), field lengths (400 naming the limit), and the worst
unauthenticated inputs answered about as fast as a normal request."""

import json
import statistics
import time
from collections.abc import Callable, Iterator

import requests

from gateway.http import PUBLIC_BODY, TEXT_BODY
from gateway.schemas import EMAIL
from tests.registry.integration.conftest import Registry, application

PASSWORD = "correct horse battery staple"
SESSION = "/api/v1/session"
JSON = {"Content-Type": "application/json"}


def test_a_body_larger_than_the_route_takes_is_refused_unread(
    gateway_url: str,
) -> None:
    over = b'{"email": "' + b"x" * PUBLIC_BODY + b'"}'
    big = requests.post(gateway_url + SESSION, data=over, headers=JSON, timeout=30)
    assert big.status_code == 413
    assert big.headers["Content-Type"].startswith("application/problem+json")
    assert big.json()["code"] == "too_large"
    assert big.json()["detail"] == "the body is larger than this route takes (16 KiB)"
    assert big.headers["X-Frame-Options"] == "DENY"

    def chunks() -> Iterator[bytes]:  # no Content-Length: werkzeug stops reading
        yield b'{"email": "'
        for _ in range(PUBLIC_BODY // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    chunked = requests.post(
        gateway_url + SESSION, data=chunks(), headers=JSON, timeout=30
    )
    assert chunked.status_code == 413, chunked.text
    assert chunked.json()["code"] == "too_large"
    small = requests.post(  # a chunked body under the cap is read as sent
        gateway_url + SESSION,
        data=iter([b'{"email": ', b'"a@b.c"}']),
        headers=JSON,
        timeout=30,
    )
    assert small.json()["errors"] == {"password": ["Missing data for required field."]}
    # an application's motivation needs more: the same body is read and judged there
    application_body = requests.post(
        gateway_url + "/api/v1/applications", data=over, headers=JSON, timeout=30
    )
    assert application_body.status_code == 400
    past_it = b'{"motivation": "' + b"x" * TEXT_BODY + b'"}'
    assert (
        requests.post(
            gateway_url + "/api/v1/applications",
            data=past_it,
            headers=JSON,
            timeout=30,
        ).status_code
        == 413
    )


def test_a_sign_in_posted_as_text_plain_is_refused_and_sets_no_cookie(
    system: Registry,
) -> None:
    """Login CSRF: a cross-site form (enctype text/plain) can post a JSON-shaped
    body without a preflight; the gateway must not sign the victim in with it."""
    data = application(password=PASSWORD)
    system.applicant(**data)
    body = json.dumps({"email": data["email"], "password": PASSWORD})
    url = system.url + SESSION
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        refused = requests.post(url, data=body, headers=headers, timeout=30)
        assert refused.status_code == 415, (content_type, refused.text)
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["code"] == "unsupported_media_type"
        assert "application/json" in refused.json()["detail"]
        assert "Set-Cookie" not in refused.headers
    signed_in = requests.post(
        url,
        data=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=30,
    )
    assert signed_in.status_code == 200
    assert "session=" in signed_in.headers["Set-Cookie"]


def test_every_api_write_refuses_a_body_that_is_not_json(gateway_url: str) -> None:
    # no registry runs here: a 415 (not a 503) shows nothing was sent on the bus
    for method, path in (
        ("POST", "/api/v1/applications"),
        ("POST", "/api/v1/password-resets"),
        ("PUT", "/api/v1/me/preferences"),
        ("DELETE", "/api/v1/session"),
    ):
        answer = requests.request(
            method,
            gateway_url + path,
            data=b'{"email": "a@example.org"}',
            headers={"Content-Type": "text/plain"},
            timeout=30,
        )
        assert answer.status_code == 415, (method, path)


def median_seconds(send: Callable[[], requests.Response], status: int) -> float:
    times = []
    for _ in range(15):
        started = time.perf_counter()
        answer = send()
        times.append(time.perf_counter() - started)
        assert answer.status_code == status, answer.text[:300]
    return statistics.median(times)


def test_the_worst_unauthenticated_inputs_are_answered_as_fast_as_a_normal_one(
    system: Registry,
) -> None:
    data = application(password=PASSWORD)
    system.applicant(**data)
    http = requests.Session()

    def post(body: bytes) -> Callable[[], requests.Response]:
        return lambda: http.post(
            system.url + SESSION, data=body, headers=JSON, timeout=60
        )

    normal = json.dumps({"email": data["email"], "password": "not the password"})
    long_key = json.dumps({"a" * 60_000: 1})
    long_email = json.dumps({"email": "a" * 60_000 + "@example.org", "password": "x"})
    unknown_keys = json.dumps({f"key_{i:05d}_padding": i for i in range(600)})
    under_cap_key = json.dumps({"a" * 15_000: 1})
    under_cap_email = json.dumps({"email": "a" * 15_000, "password": "x"})
    assert len(unknown_keys) < PUBLIC_BODY < len(long_key)

    baseline = median_seconds(post(normal.encode()), 401)
    worst = {
        "long_key": median_seconds(post(long_key.encode()), 413),
        "long_email": median_seconds(post(long_email.encode()), 413),
        "unknown_keys": median_seconds(post(unknown_keys.encode()), 400),
        "under_cap_key": median_seconds(post(under_cap_key.encode()), 400),
        "under_cap_email": median_seconds(post(under_cap_email.encode()), 400),
    }
    ratios = {name: seconds / baseline for name, seconds in worst.items()}
    print(f"baseline {baseline * 1000:.1f} ms, ratios {ratios}")
    assert max(ratios.values()) < 5, (baseline, ratios)

    errors = post(under_cap_email.encode())().json()["errors"]
    assert errors == {"email": [f"Longer than maximum length {EMAIL}."]}
    unknown = post(unknown_keys.encode())().json()["errors"]
    assert unknown["key_00000_padding"] == ["Unknown field."]
