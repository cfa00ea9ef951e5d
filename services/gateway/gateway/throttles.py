"""Throttling of the routes that check a credential (signing in, the second factor,
applying, password resets, a payout run's release code), shared by every replica of
the gateway through its PostgreSQL database.

A route declares its family (`throttle=Throttle(...)` on @api/@page, gateway.http);
each attempt counts in three buckets of that family, in this order, and the first
one that is full refuses it (429 with Retry-After):

- per client address: the address as seen behind TRUSTED_PROXIES proxies (an IPv6
  address counts by its /64, what one machine is usually given);
- per account: the normalized email the request names, or the signed-in (or
  enrolling) person; an attempt refused by its address does not count here, so a
  stranger blocked at their own address does not use up the owner's attempts;
- global: every attempt of the family, whatever its address or account, a ceiling
  on the argon2 work unauthenticated requests can cause.

Each bucket counts in a fixed window (THROTTLE_WINDOW seconds) that starts with its
first attempt. A bucket's key is an HMAC-SHA256 under THROTTLE_KEY of family, scope
and value: no address or email is stored, and without the key a row cannot be tied
to one. A row is deleted once its window has ended (`purge`, every PURGE_EVERY
seconds, by a timer of every replica).

A full *account* bucket is not a lock: a sign-in that carries a second-factor code
goes through it as a step-up (the registry then accepts only the right password and
a valid code), so guesses against someone's email do not keep them out.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway.settings import Settings

SCOPES = ("address", "account", "global")
PURGE_EVERY = 5  # seconds between two purges of ended windows (every replica)

# One statement a bucket, creating the row on first use: a window that has ended
# starts again at 1. The answer: the count so far and the seconds left.
HIT = text(
    "INSERT INTO throttles AS t (key, hits, expires_at) "
    "VALUES (:key, 1, clock_timestamp() + make_interval(secs => :window)) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN t.expires_at <= clock_timestamp() THEN 1 "
    "ELSE t.hits + 1 END, "
    "expires_at = CASE WHEN t.expires_at <= clock_timestamp() "
    "THEN clock_timestamp() + make_interval(secs => :window) ELSE t.expires_at END "
    "RETURNING hits, extract(epoch FROM expires_at - clock_timestamp())"
)
PURGE = text("DELETE FROM throttles WHERE expires_at <= clock_timestamp()")


@dataclass(frozen=True)
class Limits:
    """How many attempts each bucket of a family takes in `window` seconds."""

    window: int
    per_address: int
    per_account: int
    overall: int

    def of(self, scope: str) -> int:
        return {
            "address": self.per_address,
            "account": self.per_account,
            "global": self.overall,
        }[scope]


def limits_of(own: Settings) -> Limits:
    """THROTTLE_WINDOW, THROTTLE_PER_ADDRESS, THROTTLE_PER_ACCOUNT, THROTTLE_GLOBAL."""
    return Limits(
        window=own.throttle_window,
        per_address=own.throttle_per_address,
        per_account=own.throttle_per_account,
        overall=own.throttle_global,
    )


def client_address(peer: str | None, forwarded_for: str | None, proxies: int) -> str:
    """The client as the outermost trusted proxy saw it: with `proxies` proxies in
    front, the `proxies`-th address from the right of X-Forwarded-For (what a client
    writes there itself stays further left and is ignored). No proxies, or fewer
    addresses than proxies (a request that did not come through them): the peer."""
    if proxies > 0 and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return peer or ""


def address_bucket(address: str) -> str:
    """An IPv4 address as it is, an IPv6 address by its /64 network."""
    try:
        parsed = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return address.strip()
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)


def normalized_account(value: str) -> str:
    """An email as the registry matches it (trimmed, lower case, inner spaces one)."""
    return " ".join(value.strip().lower().split())


def bucket_key(secret: bytes, family: str, scope: str, value: str) -> str:
    return hmac.new(
        secret, f"{family}\x00{scope}\x00{value}".encode(), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """`refused_by`: the first full bucket (None: the attempt may go on);
    `retry_after`: whole seconds until it takes attempts again; `step_up`: the
    account's bucket is full and the attempt goes on only as a step-up."""

    refused_by: str | None = None
    retry_after: int = 0
    step_up: bool = False

    @property
    def allowed(self) -> bool:
        return self.refused_by is None


def hit(session: Session, key: str, window: int, limit: int) -> int | None:
    """Count one attempt in a bucket: None while it is within `limit`, else the
    seconds until its window ends (at least 1)."""
    hits, left = session.execute(HIT, {"key": key, "window": window}).one()
    if int(hits) <= limit:
        return None
    return max(1, math.ceil(float(left)))


def check(
    session: Session,
    secret: bytes,
    family: str,
    limits: Limits,
    address: str,
    account: str | None,
    step_up: bool = False,
    overall: bool = True,
) -> Verdict:
    """Count an attempt in the family's buckets (address, account when there is
    one, global), stopping at the first full one; with `step_up` (the attempt
    carries a second factor) a full account bucket lets it go on as a step-up.
    `overall=False` leaves the global bucket out: an attempt of a signed-in person
    (a payout run's release code) is bounded by their own buckets, so strangers
    filling the global one cannot stop finance releasing a run."""
    values: dict[str, str | None] = {
        "address": address_bucket(address),
        "account": account,
        "global": "" if overall else None,
    }
    stepped = False
    for scope in SCOPES:
        value = values[scope]
        if value is None:
            continue
        wait = hit(
            session,
            bucket_key(secret, family, scope, value),
            limits.window,
            limits.of(scope),
        )
        if wait is not None and scope == "account" and step_up:
            stepped = True
        elif wait is not None:
            return Verdict(scope, wait)
    return Verdict(step_up=stepped)


def purge(session: Session) -> int:
    """Delete every bucket whose window has ended; how many."""
    result = session.execute(PURGE)
    return int(getattr(result, "rowcount", 0) or 0)
