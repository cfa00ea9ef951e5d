"""svyaz-finance: payout runs from a terminal, beside the finance console.

    svyaz-finance --actor <your account id> build <cycle id>
    svyaz-finance --actor … show <run id>
    svyaz-finance --actor … payouts <run id> [--status failed]
    svyaz-finance --actor … release <run id> --totals <digest> [--wait]
    svyaz-finance --actor … action <payout id> <action> --reason "…"
        (retry, cancel, mark_paid_offline or mark_failed)
    svyaz-finance --actor … export <run id> [--format csv|pain.001] [-o file]
    svyaz-finance --actor … statement <bank statement.csv>

It makes signed RPC calls as the operator's console does (BUS_IDENTITY, default `cli`,
must be in BUS_SIGNING_KEYS), acting as the finance member whose account id is given.
`release` asks for a current code of that person's authenticator (a fresh second
factor) unless `--code` is given, and with `--wait` shows the run's progress until no
payout is open. Exit codes: 0 done; 1 refused by a rule (role, segregation, state);
2 bad input; 3 not found; 4 a service did not answer; 5 the code was not right.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

# imported before any call, so errors from the services arrive as these kinds
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound

DONE, REFUSED, BAD_INPUT, NOT_FOUND, UNAVAILABLE, BAD_CODE = range(6)
OPEN = ("planned", "queued", "calling", "sent")
DEFAULT_CONFIG = Path("services/gateway/config.yml")


class Failed(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def progress(counts: dict[str, int], width: int = 30) -> str:
    """`[#########.....] 9/15  paid 8 · sent 1 · queued 6` from payouts by state."""
    total = sum(counts.values())
    settled = total - sum(counts.get(s, 0) for s in OPEN)
    filled = width * settled // total if total else width
    states = " · ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)
    return f"[{'#' * filled}{'.' * (width - filled)}] {settled}/{total}  {states}"


def totals_table(run: dict[str, Any]) -> str:
    lines = [f"run {run['id']}  {run['status']}", "currency provider        count  sum"]
    for line in run["totals"]:
        lines.append(
            f"{line['currency']:<8} {line['provider']:<15} {line['count']:>5}  "
            f"{line['sum_minor'] / 100:,.2f}"
        )
    lines.append(f"totals digest: {run['totals_digest']}")
    return "\n".join(lines)


@contextmanager
def connected(config_path: Path) -> Iterator[Any]:
    from nameko.standalone.rpc import ClusterRpcProxy

    from svyaz import config as settings
    from svyaz import signing

    config = settings.load(config_path)
    config.pop("LOGGING", None)
    signing.register()
    signing.configure_from_config(
        {**config, "BUS_IDENTITY": config.get("BUS_IDENTITY") or "cli"}, "cli"
    )
    with ClusterRpcProxy(config, timeout=float(config.get("RPC_TIMEOUT", 30))) as rpc:
        yield rpc


def translate(exc: Exception) -> Failed:
    """Service errors (kinds that crossed RPC) as exit codes."""
    from nameko.exceptions import RpcTimeout, UnknownService

    if isinstance(exc, InvalidInput):
        fields = getattr(exc, "fields", None)
        return Failed(f"{exc}{': ' + json.dumps(fields) if fields else ''}", BAD_INPUT)
    if isinstance(exc, NotFound):
        return Failed(str(exc), NOT_FOUND)
    if getattr(exc, "code", "") == "second_factor_failed":
        return Failed(str(exc), BAD_CODE)
    if isinstance(exc, (Forbidden, Conflict)):
        return Failed(str(exc), REFUSED)
    if isinstance(exc, (RpcTimeout, UnknownService)):
        return Failed("a service did not answer; nothing was changed", UNAVAILABLE)
    raise exc


def run_command(
    args: argparse.Namespace,
    rpc: Any,
    out: TextIO,
    err: TextIO,
    ask_code: Callable[[], str],
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    actor = {"id": args.actor, "roles": ["finance"]}
    stipends = rpc.stipends
    if args.command == "build":
        run = stipends.build_payout_run(actor, args.cycle)
        print(totals_table(run), file=out)
        for excluded in run.get("excluded") or []:
            print(f"excluded: {json.dumps(excluded)}", file=out)
    elif args.command == "show":
        run = stipends.get_payout_run(actor, args.run)
        print(totals_table(run), file=out)
        print(progress(run["payouts_by_status"]), file=out)
    elif args.command == "payouts":
        for payout in stipends.list_payouts(actor, args.run):
            if args.status and payout["status"] != args.status:
                continue
            print(
                f"{payout['id']}  {payout['status']:<10} {payout['provider']:<15} "
                f"{payout['amount_minor'] / 100:,.2f} {payout['currency']}"
                f"{'  ' + payout['failure_code'] if payout['failure_code'] else ''}",
                file=out,
            )
    elif args.command == "release":
        code = args.code or ask_code()
        run = stipends.release_payout_run(actor, args.run, args.totals, code)
        print(f"run {run['id']} {run['status']}", file=out)
        while args.wait:
            counts = stipends.get_payout_run(actor, args.run)["payouts_by_status"]
            print(f"\r{progress(counts)}", end="", file=err, flush=True)
            if not any(counts.get(s) for s in OPEN):
                print(file=err)
                break
            sleep(args.interval)
    elif args.command == "action":
        payout = stipends.payout_action(actor, args.payout, args.action, args.reason)
        print(f"{payout['id']} {payout['status']}", file=out)
    elif args.command == "export":
        content = stipends.payout_bank_file(actor, args.run, args.format)
        if args.output:
            Path(args.output).write_text(content)
        else:
            out.write(content)
    elif args.command == "statement":
        result = stipends.import_bank_statement(actor, Path(args.file).read_text())
        print(json.dumps(result, indent=2, default=str), file=out)
    return DONE


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="svyaz-finance", description=(__doc__ or "").splitlines()[0]
    )
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    p.add_argument("--actor", required=True, help="your finance account id")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build a run from a cycle").add_argument("cycle")
    sub.add_parser("show", help="a run and its progress").add_argument("run")
    listing = sub.add_parser("payouts", help="a run's payouts")
    listing.add_argument("run")
    listing.add_argument("--status")
    release = sub.add_parser("release", help="release a run (fresh second factor)")
    release.add_argument("run")
    release.add_argument("--totals", required=True, help="the digest `show` printed")
    release.add_argument("--code", help="authenticator code (asked when absent)")
    release.add_argument("--wait", action="store_true", help="follow until done")
    release.add_argument("--interval", type=float, default=2.0)
    action = sub.add_parser("action", help="retry, cancel, mark paid or failed")
    action.add_argument("payout")
    action.add_argument(
        "action", choices=("retry", "cancel", "mark_paid_offline", "mark_failed")
    )
    action.add_argument("--reason", required=True)
    export = sub.add_parser("export", help="the bank file of a run")
    export.add_argument("run")
    export.add_argument("--format", choices=("csv", "pain.001"), default="csv")
    export.add_argument("-o", "--output")
    sub.add_parser("statement", help="import a bank statement (CSV)").add_argument(
        "file"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with connected(args.config) as rpc:
            return run_command(
                args,
                rpc,
                sys.stdout,
                sys.stderr,
                lambda: getpass.getpass("authenticator code: "),
            )
    except Failed as failed:
        print(f"svyaz-finance: {failed}", file=sys.stderr)
        return failed.code
    except Exception as exc:  # noqa: BLE001 - service errors become exit codes
        failed = translate(exc)
        print(f"svyaz-finance: {failed}", file=sys.stderr)
        return failed.code


if __name__ == "__main__":
    sys.exit(main())
