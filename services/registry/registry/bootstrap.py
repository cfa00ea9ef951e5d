"""Create the first program admin, before anyone can sign in to create others.

    .venv/bin/python -m registry.bootstrap --config services/registry/config.yml \\
        --email admin@example.org < password-file

Reads the password from standard input. Refuses when a program admin exists already:
after the first, admins create staff accounts (registry.create_staff_account).
"""

from __future__ import annotations

import argparse
import sys
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.logic import accounts, passwords
from registry.logic.actors import Actor
from registry.models import Account
from registry.settings import Settings
from svyaz import config as settings
from svyaz.actors import ADMIN
from svyaz.crypto import keyring
from svyaz.db import make_engine


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
        account = accounts.create_staff_account(
            session,
            keys,
            founder,
            args.email,
            args.roles.split(","),
            password,
            args.handle,
        )
        print(account.id)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
