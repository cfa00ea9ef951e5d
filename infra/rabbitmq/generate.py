"""Print RabbitMQ definitions for the whole topology the services declare.

    make topology   # generate.py > definitions.json, --development > development.json
    python infra/rabbitmq/generate.py --rabbitmqctl [--vhost /]  # production's users

The handlers are found by inspecting each service class, so the file cannot drift from
the code unnoticed: tests/unit/test_topology.py compares the two.

`definitions.json` holds the topology only, for any broker. `development.json` (what
docker-compose loads) adds each service's and each CLI's own user, with a development
password (`dev-<name>-broker`, refused by the services with SVYAZ_ENV=production),
and their permissions. `--rabbitmqctl` prints the commands that give a production
broker the same users and permissions; each password is the operator's to choose.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import json

from svyaz import topology
from svyaz.rpc import Rpc
from svyaz.single_handler import EventHandler

SERVICES = {
    "registry": "registry.service:RegistryService",
    "stipends": "stipends.service:StipendsService",
    "notifications": "notifications.service:NotificationsService",
    "gateway": "gateway.service:GatewayService",
    "insights": "insights.service:InsightsService",
}


def service_class(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def collect() -> tuple[list[tuple[str, str, str, str]], list[str]]:
    handlers: list[tuple[str, str, str, str]] = []
    rpc_services: list[str] = []
    for service, path in SERVICES.items():
        cls = service_class(path)
        has_rpc = False
        for name in dir(cls):
            for entrypoint in getattr(getattr(cls, name), "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventHandler):
                    handlers.append(
                        (
                            service,
                            name,
                            entrypoint.source_service,
                            entrypoint.event_type,
                        )
                    )
                elif isinstance(entrypoint, Rpc):
                    has_rpc = True
        if has_rpc:
            rpc_services.append(service)
    return handlers, rpc_services


TOOLS = ("finance-cli", "operator")
ADMIN = "svyaz-admin"  # docker-compose's administrator (the management console)


def definitions() -> dict[str, object]:
    handlers, rpc_services = collect()
    return topology.definitions(handlers, rpc_services)


def broker_user(name: str) -> str:
    return f"svyaz-{name}"


def grants() -> dict[str, dict[str, object]]:
    """Each service's and each CLI's broker user -> its permissions."""
    handlers, rpc_services = collect()
    found: dict[str, dict[str, object]] = {}
    for service in SERVICES:
        found[broker_user(service)] = topology.broker_permissions(
            service, handlers, rpc_services
        )
    for tool in TOOLS:
        found[broker_user(tool)] = topology.tool_permissions(tool)
    return found


def development_password(name: str) -> str:
    return f"dev-{name}-broker"


def password_hash(user: str, password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt +
    password)); the salt comes from the user's name, so the file is reproducible
    (development passwords only)."""
    salt = hashlib.sha256(user.encode()).digest()[:4]
    return base64.b64encode(
        salt + hashlib.sha256(salt + password.encode()).digest()
    ).decode()


def development() -> dict[str, object]:
    """The topology with each process's own user: docker-compose's broker."""
    result = dict(definitions())
    users = [
        {
            "name": ADMIN,
            "password_hash": password_hash(ADMIN, development_password("admin")),
            "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": ["administrator"],
            "limits": {},
        }
    ]
    permissions = [
        {"user": ADMIN, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
    ]
    topic_permissions = []
    for user, grant in grants().items():
        name = user.removeprefix("svyaz-")
        users.append(
            {
                "name": user,
                "password_hash": password_hash(user, development_password(name)),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
                "limits": {},
            }
        )
        permissions.append(
            {
                "user": user,
                "vhost": "/",
                **{key: grant[key] for key in ("configure", "write", "read")},
            }
        )
        for topic in grant["topics"]:  # type: ignore[attr-defined]
            topic_permissions.append({"user": user, "vhost": "/", **topic})
    result.update(
        users=users, permissions=permissions, topic_permissions=topic_permissions
    )
    return result


def rabbitmqctl(vhost: str) -> str:
    """The commands that give a broker each process's own user and permissions."""
    lines = [
        "# each process's own broker user; choose each password (never a dev- one)",
    ]
    for user, grant in grants().items():
        lines.append(
            f"read -rsp 'password of {user}: ' pw && echo && "
            f'rabbitmqctl add_user {user} "$pw"'
        )
        lines.append(
            f"rabbitmqctl set_permissions -p '{vhost}' {user} "
            f"'{grant['configure']}' '{grant['write']}' '{grant['read']}'"
        )
        for topic in grant["topics"]:  # type: ignore[attr-defined]
            lines.append(
                f"rabbitmqctl set_topic_permissions -p '{vhost}' {user} "
                f"'{topic['exchange']}' '{topic['write']}' '{topic['read']}'"
            )
    lines.append("rabbitmqctl delete_user guest")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--development", action="store_true")
    parser.add_argument("--rabbitmqctl", action="store_true")
    parser.add_argument("--vhost", default="/")
    args = parser.parse_args()
    if args.rabbitmqctl:
        print(rabbitmqctl(args.vhost))
    elif args.development:
        print(json.dumps(development(), indent=2, sort_keys=True))
    else:
        print(json.dumps(definitions(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
