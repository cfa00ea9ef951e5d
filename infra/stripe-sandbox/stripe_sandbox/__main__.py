"""python -m stripe_sandbox --port 8420 --state-file var/stripe-sandbox.state
[--webhook-url http://127.0.0.1:8000/webhooks/stripe] [--webhook-secret whsec_...]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser(prog="stripe_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument(
        "--state-file",
        type=Path,
        default=Path("var/stripe-sandbox.state"),
        help="this instance's saved state (created if absent)",
    )
    parser.add_argument(
        "--from-scratch",
        action="store_true",
        help="ignore the saved state (it is overwritten)",
    )
    parser.add_argument(
        "--webhook-url",
        default=None,
        help="where events are POSTed, signed (none: not sent)",
    )
    parser.add_argument(
        "--webhook-secret",
        default="whsec_dev-gateway",
        help="the endpoint's signing secret (default: the gateway's "
        "development secret)",
    )
    parser.add_argument(
        "--idempotency-ttl",
        type=float,
        default=24 * 3600.0,
        help="seconds an idempotency key is remembered",
    )
    parser.add_argument(
        "--payout-outcome", choices=("paid", "failed", "manual"), default="paid"
    )
    parser.add_argument(
        "--payout-after",
        type=float,
        default=1.0,
        help="seconds before a pending payout settles",
    )
    parser.add_argument(
        "--outbound-after",
        type=float,
        default=1.0,
        help="seconds before a processing outbound payment (v2) is posted",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        help="base of account-link URLs as a browser reaches the sandbox "
        "(default: the Host the API was called on)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--request-log",
        default=None,
        help="append every API request (method, path, query, body) to this file",
    )
    args = parser.parse_args()

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.from_scratch and args.state_file.exists():
        args.state_file.unlink()

    from . import app as sandbox
    from . import state

    state.settings.idempotency_ttl = args.idempotency_ttl
    state.settings.payout_outcome = args.payout_outcome
    state.settings.payout_after = args.payout_after
    state.settings.extra["outbound_after"] = args.outbound_after
    state.settings.public_url = args.public_url and args.public_url.rstrip("/")
    state.settings.request_log = args.request_log
    application = sandbox.build(args.state_file, args.webhook_url, args.webhook_secret)
    web.run_app(
        application,
        host=args.host,
        port=args.port,
        access_log=logging.getLogger("aiohttp.access") if args.verbose else None,
        print=lambda text: logging.getLogger("stripe_sandbox").info(
            "listening on http://%s:%s/", args.host, args.port
        ),
    )


if __name__ == "__main__":
    main()
