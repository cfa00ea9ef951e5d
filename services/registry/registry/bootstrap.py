"""Create the first program admin, before anyone can sign in to create others.

    .venv/bin/python -m registry.bootstrap --config services/registry/config.yml \\
        --email admin@example.org < password-file

Reads the password from standard input. Refuses when a program admin exists already:
after the first, admins create staff accounts (registry.create_staff_account).
"""

from __future__ import annotations

import warnings

# the libraries' notices about themselves (eventlet's deprecation, pkg_resources'),
# raised while they load, are nothing the operator running this can act on
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.simplefilter("ignore", DeprecationWarning)
warnings.simplefilter("ignore", UserWarning)

import argparse  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from registry.logic import accounts, passwords  # noqa: E402
from registry.logic.actors import Actor  # noqa: E402
from registry.models import Account  # noqa: E402
from registry.settings import Settings  # noqa: E402
from svyaz import config as settings  # noqa: E402
from svyaz.actors import ADMIN  # noqa: E402
from svyaz.crypto import keyring  # noqa: E402
from svyaz.db import make_engine  # noqa: E402
from svyaz.errors import InvalidInput  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--roles", default=ADMIN)
    parser.add_argument(
        "--handle",
        help="the name colleagues know them by (a first name or a nickname), shown "
        "to admins in place of the account's id",
    )
    args = parser.parse_args(argv)
    config = settings.load(args.config)
    keys = keyring(config)
    passwords.configure(Settings.read(config))
    password = sys.stdin.readline().rstrip("\n")
    engine = make_engine(settings.require(config, "DB_URI"), pool_size=1)
    with Session(engine) as session, session.begin():
        admins = session.scalars(select(Account.roles).where(Account.kind == "staff"))
        if any(ADMIN in roles for roles in admins):
            print(
                "a program admin exists already; sign in as them to add staff",
                file=sys.stderr,
            )
            return 1
        founder = Actor(uuid.uuid4(), frozenset({ADMIN}))
        try:
            account = accounts.create_staff_account(
                session,
                keys,
                founder,
                args.email,
                args.roles.split(","),
                password,
                args.handle,
            )
        except InvalidInput as exc:  # a password too short, an email taken
            said = "; ".join(
                f"{name}: {', '.join(map(str, why))}"
                for name, why in (exc.fields or {}).items()
            )
            print(f"not created: {exc}{f' ({said})' if said else ''}", file=sys.stderr)
            return 2
        print(
            f"created the program admin {account.id}: sign in at the consoles with "
            "this email and password; the first sign-in sets up the authenticator app"
        )
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
