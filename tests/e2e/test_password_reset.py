"""A forgotten password, end to end: the gateway asks the registry, the registry's
event reaches notifications, which asks the registry for a one-time link and mails
it; the link sets a new password once and ends every session of the account."""

import re
import uuid
from typing import Any

import requests

from tests.e2e.test_slice import subject
from tests.helpers import wait_until
from tests.stack import System

OLD, NEW = "an old passphrase, long enough", "a new passphrase, long enough"


def session_cookie(system: System, email: str, password: str) -> str | None:
    response = requests.post(
        f"{system.url}/api/v1/session",
        json={"email": email, "password": password},
        timeout=30,
    )
    return response.cookies.get("session") if response.status_code == 200 else None


def me(system: System, cookie: str) -> int:
    # the cookie is Secure: requests keeps it off plain http unless sent by hand
    return requests.get(
        f"{system.url}/api/v1/me", headers={"Cookie": f"session={cookie}"}, timeout=30
    ).status_code


def test_a_forgotten_password_is_reset_by_an_emailed_link(system: System) -> None:
    email = f"reset.{uuid.uuid4().hex[:6]}@example.org"
    applied = requests.post(
        f"{system.url}/api/v1/applications",
        timeout=30,
        json={
            "pseudonym": f"wren_{uuid.uuid4().hex[:6]}",
            "legal_name": "Yulia M.",
            "email": email,
            "password": OLD,
            "country": "GE",
            "city": "Batumi",
            "language": "en",
            "consent_version": "2026-11",
            "consent": True,
        },
    )
    assert applied.status_code == 202
    cookie = session_cookie(system, email, OLD)
    assert cookie and me(system, cookie) == 200

    for who in (email, "nobody.at.all@example.org"):
        asked = requests.post(
            f"{system.url}/api/v1/password-resets", json={"email": who}, timeout=30
        )
        assert asked.status_code == 202 and asked.json() == {"status": "requested"}

    def reset_mail() -> list[Any]:
        return [
            m
            for m in system.mails()
            if m["To"] == email and subject(m) == "Setting a new password"
        ]

    mail = wait_until(reset_mail, "the reset mail", timeout=30)[0]
    assert not [m for m in system.mails() if m["To"] == "nobody.at.all@example.org"]
    body = mail.get_payload(decode=True).decode()
    # the page in the mail's language (the person's: English here)
    link = re.search(r"(http://\S+)/reset-password\?token=([^&\s]+)&lang=en\s", body)
    assert link and link.group(1) == system.url
    token = link.group(2)
    for word in ("Svyaz", "stipend", "war"):
        assert word not in body
    stored = system.sql("registry", "SELECT token_hash FROM password_resets")
    assert token not in str(stored)  # only its hash is kept
    for service in ("notifications", "registry"):
        logs = (system.stack.logs / f"{service}.log").read_text(errors="replace")
        assert token not in logs and email not in logs

    weak = requests.post(
        f"{system.url}/api/v1/password-resets/new-password",
        json={"token": token, "password": "short"},
        timeout=30,
    )
    assert weak.status_code == 400
    done = requests.post(
        f"{system.url}/api/v1/password-resets/new-password",
        json={"token": token, "password": NEW},
        timeout=30,
    )
    assert done.status_code == 200
    assert me(system, cookie) == 401  # every session of the account ended
    assert session_cookie(system, email, OLD) is None
    assert session_cookie(system, email, NEW)
    again = requests.post(
        f"{system.url}/api/v1/password-resets/new-password",
        json={"token": token, "password": "yet another passphrase"},
        timeout=30,
    )
    assert again.status_code == 400 and again.json()["code"] == "reset_invalid"
