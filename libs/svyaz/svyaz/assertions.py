"""Actor assertions: who a person is, as the registry signed it when they signed in.

A person's identity on the bus is never a caller's word. When someone signs in
(password, and the second factor where it is required), the registry mints an
assertion with its own Ed25519 key: the account id, its roles, a session id, when and
how they authenticated (`auth_at`, `totp_at`), and a short expiry (`TTL`). The gateway
and the CLIs pass it with every call; every service verifies it with the registry's
public key and builds its `Actor` from it alone. The registry renews an assertion
against the account as it is now (roles, disabled, the communicator's status), so a
change of rights reaches every process within one `TTL`.

    svyaz-actor.v1.<base64url(JSON claims)>.<base64url(signature)>

An assertion of `stage` "enroll" names a staff member who gave their password but has
not yet set up their authenticator: it carries no roles and is taken only where
enrolment is finished.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field

from svyaz import signing
from svyaz.keys import REGISTRY

PREFIX = "svyaz-actor.v1"
TTL = 300.0  # seconds an assertion is good for; renewed before it runs out
MAX_SESSION = 12 * 3600.0  # seconds after signing in that renewals stop
FULL = "full"
ENROLL = "enroll"


class InvalidAssertion(Exception):
    """Not an assertion the registry signed, or no longer good."""


@dataclass(frozen=True)
class Claims:
    sub: uuid.UUID
    roles: frozenset[str]
    sid: str
    stage: str
    auth_at: float
    totp_at: float | None
    iat: float
    exp: float
    extra: dict[str, str] = field(default_factory=dict)

    def as_json(self, key_id: str) -> bytes:
        return json.dumps(
            {
                "kid": key_id,
                "sub": str(self.sub),
                "roles": sorted(self.roles),
                "sid": self.sid,
                "stage": self.stage,
                "auth_at": self.auth_at,
                "totp_at": self.totp_at,
                "iat": self.iat,
                "exp": self.exp,
            },
            separators=(",", ":"),
            sort_keys=True,
        ).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(claims: Claims) -> str:
    """Sign `claims` with the registry's key (only the registry holds it)."""
    key_id, _ = signing.sign_detached(REGISTRY, b"")
    payload = claims.as_json(key_id)
    _, signature = signing.sign_detached(REGISTRY, PREFIX.encode() + b"." + payload)
    return f"{PREFIX}.{_b64(payload)}.{_b64(signature)}"


def new_claims(
    account_id: uuid.UUID,
    roles: frozenset[str],
    *,
    stage: str = FULL,
    totp_at: float | None = None,
    sid: str | None = None,
    auth_at: float | None = None,
    now: float | None = None,
) -> Claims:
    now = time.time() if now is None else now
    return Claims(
        sub=account_id,
        roles=frozenset() if stage == ENROLL else frozenset(roles),
        sid=sid or uuid.uuid4().hex,
        stage=stage,
        auth_at=now if auth_at is None else auth_at,
        totp_at=totp_at,
        iat=now,
        exp=now + TTL,
    )


_VERIFIED: dict[str, Claims] = {}  # token -> claims whose signature was checked
_VERIFIED_MAX = 4096


def verify(
    token: object, now: float | None = None, *, allow_expired: bool = False
) -> Claims:
    """The claims of a token the registry signed; raises InvalidAssertion. A
    token's signature is checked once per process (the same token comes with every
    call of a session); its expiry is checked every time."""
    if not isinstance(token, str) or not token.startswith(PREFIX + "."):
        raise InvalidAssertion("not an assertion the registry signed")
    claims = _VERIFIED.get(token)
    if claims is None:
        claims = _verify_signature(token)
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.pop(next(iter(_VERIFIED)))  # the oldest
        _VERIFIED[token] = claims
    now = time.time() if now is None else now
    if not allow_expired and claims.exp <= now:
        raise InvalidAssertion("it has expired")
    return claims


def _verify_signature(token: str) -> Claims:
    try:
        payload_text, signature_text = token[len(PREFIX) + 1 :].split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
        data = json.loads(payload)
        key_id = str(data["kid"])
    except (ValueError, KeyError, TypeError):
        raise InvalidAssertion("a malformed assertion") from None
    if not signing.verify_detached(
        REGISTRY, key_id, PREFIX.encode() + b"." + payload, signature
    ):
        raise InvalidAssertion("its signature is not the registry's")
    try:
        claims = Claims(
            sub=uuid.UUID(str(data["sub"])),
            roles=frozenset(str(r) for r in data["roles"]),
            sid=str(data["sid"]),
            stage=str(data["stage"]),
            auth_at=float(data["auth_at"]),
            totp_at=None if data["totp_at"] is None else float(data["totp_at"]),
            iat=float(data["iat"]),
            exp=float(data["exp"]),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidAssertion("a malformed assertion") from None
    return claims
