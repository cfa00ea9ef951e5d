"""An operator's console on the bus: signed RPC calls to any service.

    .venv/bin/python -m svyaz.shell --config infra/tools/operator.yml
    >>> admin = {"id": "…uuid…", "roles": ["program_admin"]}
    >>> rpc.registry.list_review_items(admin)

It signs as `operator` with its own bus key (infra/tools/operator.yml), and may call
only the methods whose `callers` name `operator`. With
`--call 'registry.list_corridors'` and optional JSON `--args '[...]'` it makes one call,
prints the JSON result and exits (0, or 1 with the error on stderr).
"""

from __future__ import annotations

import argparse
import code
import json
import sys
from typing import Any

from svyaz import config as settings
from svyaz import signing
from svyaz.keys import OPERATOR
from svyaz.messaging import ClusterRpcProxy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", default="infra/tools/operator.yml", help="the console's settings"
    )
    parser.add_argument("--call", help="service.method to call once")
    parser.add_argument("--args", default="[]", help="JSON list of arguments")
    args = parser.parse_args(argv)
    config = settings.load(args.config)
    config.pop("LOGGING", None)
    signing.register()
    signing.configure_from_config(config, OPERATOR)
    with ClusterRpcProxy(config, timeout=30) as rpc:
        if args.call:
            service, _, method = args.call.partition(".")
            try:
                result: Any = getattr(getattr(rpc, service), method)(
                    *json.loads(args.args)
                )
            except Exception as exc:  # noqa: BLE001 - reported to the operator
                print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
            print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
            return 0
        code.interact(
            banner="Svyaz RPC console: rpc.<service>.<method>(...)", local={"rpc": rpc}
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
