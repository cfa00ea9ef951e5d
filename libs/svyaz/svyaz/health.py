"""Health check for a service without HTTP: is someone consuming its queue?

    python -m svyaz.health --config config.yml rpc-registry

Exit status 0 when every named queue has at least one consumer, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys

import kombu

from svyaz import config as settings


def consumers(amqp_uri: str, queue: str) -> int:
    with kombu.Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            return int(channel.queue_declare(queue, passive=True).consumer_count)
        except Exception:  # noqa: BLE001 - a queue not declared yet has no consumer
            return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("queues", nargs="+")
    args = parser.parse_args(argv)
    amqp_uri = settings.require(settings.load(args.config), "AMQP_URI")
    missing = [q for q in args.queues if consumers(amqp_uri, q) == 0]
    for queue in missing:
        print(f"no consumer on {queue}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
