"""The operator's console: signed RPC calls as a signed-in staff member.

    .venv/bin/python -m svyaz.shell                 # email, password, code asked
    >>> rpc.registry.list_review_items(me)

It signs the staff member in with the registry first (email, password and a code of
their authenticator, checked by the registry; SVYAZ_EMAIL, SVYAZ_PASSWORD and
SVYAZ_CODE for a script), and `me` is the assertion the registry signed: every call
that acts for a person passes `me`, and nobody can type another. The assertion is
renewed before each call once it is about to run out (the registry refuses when the
account was disabled or lost its roles, and after 12 hours). The console signs its
messages as `operator` with its own bus key (infra/tools/operator.yml) and may call
only the methods whose callers name `operator`.

With `--call 'registry.list_corridors'` and optional JSON `--args '[...]'` it makes one
call (the string "$me" in the arguments stands for the signed-in actor), prints the JSON
result and exits (0, or 1 with the error on stderr; 7 when the sign-in is refused).
"""

from __future__ import annotations

import argparse
import code
import getpass
import json
import os
import sys
import time
import uuid
from typing import Any

from svyaz import config as settings
from svyaz import idempotency, signing
from svyaz.actors import ADMIN, FINANCE
from svyaz.keys import OPERATOR
from svyaz.rpc_proxy import ClusterRpcProxy

NOT_SIGNED_IN = 7
RENEW_BEFORE = 60.0  # seconds before the assertion runs out
STAFF = frozenset({ADMIN, FINANCE})


class SignInRefused(Exception):
    pass


def sign_in(rpc: Any, email: str, password: str, ask_code: Any) -> dict[str, Any]:
    """The staff member's actor with the registry's assertion. A first sign-in
    enrols the authenticator: the key is shown and its first code asked."""
    answer = rpc.registry.sign_in(email, password, None)
    if answer.get("status") == "enroll":
        print(f"add this key to your authenticator app: {answer['enrollment_uri']}")
        confirmed = rpc.registry.confirm_second_factor(answer["actor"], ask_code())
        if not confirmed.get("confirmed"):
            raise SignInRefused("the code is not right")
        return dict(confirmed["actor"])
    if answer.get("status") == "second_factor":
        answer = rpc.registry.sign_in(email, password, ask_code())
    actor = answer.get("actor") or {}
    if answer.get("status") != "ok" or not STAFF & set(actor.get("roles", ())):
        raise SignInRefused(
            "the email, password or code is not right, or this is not a staff account"
        )
    return dict(actor)


class Renewing:
    """`rpc` for the console: before each call, the registry renews `me` in place
    when its assertion is about to run out."""

    def __init__(self, rpc: Any, me: dict[str, Any]) -> None:
        self._rpc, self._me = rpc, me

    def fresh(self) -> None:
        if float(self._me.get("expires_at") or 0) - time.time() < RENEW_BEFORE:
            self._me.update(self._rpc.registry.renew_assertion(self._me["assertion"]))

    def __getattr__(self, service: str) -> Any:
        owner, target = self, getattr(self._rpc, service)

        class Service:
            def __getattr__(self, method: str) -> Any:
                def call(*args: Any, **kwargs: Any) -> Any:
                    owner.fresh()
                    return getattr(target, method)(*args, **kwargs)

                return call

        return Service()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--config", default="infra/tools/operator.yml", help="the console's settings"
    )
    parser.add_argument("--email", default=os.environ.get("SVYAZ_EMAIL"))
    parser.add_argument("--call", help="service.method to call once")
    parser.add_argument("--args", default="[]", help='JSON list; "$me" is you')
    parser.add_argument(
        "--idempotency-key",
        help="this invocation's key (new each time unless given): a --call sent "
        "again with the same key takes effect once (svyaz.commands)",
    )
    args = parser.parse_args(argv)
    key = args.idempotency_key or uuid.uuid4().hex
    if not idempotency.valid_key(key):
        print("--idempotency-key is 8 to 64 letters, digits, - or _", file=sys.stderr)
        return 2
    idempotency.bind(key)  # one per invocation; each call derives its own from it
    config = settings.load(args.config)
    config.pop("LOGGING", None)
    signing.register()
    signing.configure_from_config(config, OPERATOR)
    email = args.email or input("email: ")
    password = os.environ.get("SVYAZ_PASSWORD") or getpass.getpass("password: ")

    def ask_code() -> str:
        return os.environ.get("SVYAZ_CODE") or getpass.getpass("authenticator code: ")

    with ClusterRpcProxy(config, timeout=30) as proxy:
        try:
            me = sign_in(proxy, email, password, ask_code)
        except SignInRefused as refused:
            print(f"not signed in: {refused}", file=sys.stderr)
            return NOT_SIGNED_IN
        rpc = Renewing(proxy, me)
        if args.call:
            service, _, method = args.call.partition(".")
            call_args = [me if a == "$me" else a for a in json.loads(args.args)]
            try:
                result: Any = getattr(getattr(rpc, service), method)(*call_args)
            except Exception as exc:  # noqa: BLE001 - reported to the operator
                print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
            print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
            return 0
        code.interact(
            banner=f"Svyaz operator's console, signed in as {sorted(me['roles'])}: "
            "rpc.<service>.<method>(me, ...)",
            local={"rpc": rpc, "me": me},
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
