"""Rebuild the read model from the kept events:

    python -m insights.rebuild --config services/insights/config.yml

Empties every table the views read and applies each fact again, oldest first, in one
transaction (the views keep answering from the old state until it commits), which
the database's statement limit does not bound.
"""

from __future__ import annotations

import argparse
import sys
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from insights.logic import facts
from svyaz import config as settings
from svyaz.db import make_engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m insights.rebuild")
    parser.add_argument("--config", default="services/insights/config.yml")
    args = parser.parse_args(argv)
    config = settings.load(args.config)
    engine = make_engine(str(config["DB_URI"]))
    started = time.monotonic()
    with Session(engine) as session, session.begin():
        # a long history takes longer than a session's statement limit
        # (svyaz.migrations.SESSION_LIMITS): this transaction alone is not limited
        session.execute(text("SET LOCAL statement_timeout = 0"))
        applied = facts.rebuild(session)
    took = time.monotonic() - started
    print(f"rebuilt the read model from {applied} events in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
