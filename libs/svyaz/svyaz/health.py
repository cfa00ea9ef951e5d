"""Health and readiness of a service without HTTP.

    python -m svyaz.health registry --ready            # readiness (docker-compose)
    python -m svyaz.health --config config.yml rpc-registry   # consumers only

`--ready` checks the three things a service needs to do its work, and prints one
line per check: its database answers (`SELECT 1`), the broker takes a connection,
and every queue the service consumes has a consumer (its RPC queue and each event
handler's queue, read from the service's own class, as `nameko run` loads it).
Exit status 0 when everything holds, 1 otherwise. The gateway answers the same
question over HTTP at `/readyz`; `/healthz` stays a liveness probe (the process
answers), so a database outage makes a replica unready, not restarted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kombu

from svyaz import config as settings
from svyaz import topology


def consumers(amqp_uri: str, queue: str) -> int:
    with kombu.Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        try:
            return int(channel.queue_declare(queue, passive=True).consumer_count)
        except Exception:  # noqa: BLE001 - a queue not declared yet has no consumer
            return 0


def database_ready(db_uri: str) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(
        db_uri, poolclass=NullPool, connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False
    finally:
        engine.dispose()


def broker_ready(amqp_uri: str) -> bool:
    try:
        with kombu.Connection(amqp_uri, connect_timeout=5) as connection:
            connection.connect()
            return bool(connection.connected)
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False


def readiness(
    config: Any, queues: Iterable[str], database: bool = True
) -> dict[str, bool]:
    """{check: passed} for the database, the broker and each queue's consumer."""
    amqp_uri = str(settings.require(config, "AMQP_URI"))
    checks: dict[str, bool] = {}
    if database and config.get("DB_URI"):
        checks["database"] = database_ready(str(config["DB_URI"]))
    checks["broker"] = broker_ready(amqp_uri)
    for queue in queues:
        checks[f"consumer {queue}"] = checks["broker"] and (
            consumers(amqp_uri, queue) > 0
        )
    return checks


def queues_of(service_class: Any) -> list[str]:
    """The queues a nameko service class consumes: its RPC queue if it has RPC
    methods, and each event handler's."""
    queues: set[str] = set()
    name = service_class.name
    for attr in dir(service_class):
        method = getattr(service_class, attr, None)
        for entrypoint in getattr(method, "nameko_entrypoints", ()) or ():
            kind = type(entrypoint).__name__
            if kind in ("EventHandler", "BatchEventHandler"):
                queues.add(topology.handler_queue_name(name, attr))
            elif kind == "Rpc":
                queues.add(topology.rpc_queue_name(name))
    return sorted(queues)


def service_class(service: str) -> Any:
    """`<service>.service:<Service>Service`, imported by name as `nameko run` does."""
    module = importlib.import_module(f"{service}.service")
    return getattr(module, f"{service.capitalize()}Service")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="the service's config.yml")
    parser.add_argument(
        "--ready",
        action="store_true",
        help="readiness: database, broker, and a consumer on every queue of SERVICE",
    )
    parser.add_argument("names", nargs="+", help="SERVICE with --ready, else queues")
    args = parser.parse_args(argv)
    if args.ready:
        service = args.names[0]
        path = args.config or (
            "config.yml"
            if Path("config.yml").exists()
            else f"services/{service}/config.yml"
        )
        config = settings.load(path)
        checks = readiness(config, queues_of(service_class(service)))
        for check, passed in checks.items():
            print(f"{'ok  ' if passed else 'FAIL'} {check}")
        return 0 if all(checks.values()) else 1
    if not args.config:
        parser.error("--config is required without --ready")
    amqp_uri = settings.require(settings.load(args.config), "AMQP_URI")
    missing = [q for q in args.names if consumers(amqp_uri, q) == 0]
    for queue in missing:
        print(f"no consumer on {queue}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
