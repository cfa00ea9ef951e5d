"""svyaz-finance: payout runs from a terminal, beside the finance console.

    svyaz-finance --email <your sign-in email> sign-in     # password and code asked
    svyaz-finance build <cycle id>
    svyaz-finance show <run id>
    svyaz-finance payouts <run id> [--status failed]
    svyaz-finance release <run id> --totals <digest> [--wait]
    svyaz-finance action <payout id> <action> --reason "…"
        (retry, cancel, mark_paid_offline or mark_failed)
    svyaz-finance export <run id> [--format csv|pain.001] [-o file]
    svyaz-finance statement <bank statement.csv>
    svyaz-finance reconcile <provider> <from> <to>
        [--itemized report.csv | --statement statement.csv]
    svyaz-finance differences <reconciliation id> [--state open] [--kind …]
    svyaz-finance resolve <reconciliation id> <item>… --action write_off
        --reason "…" [--payout <id> for link]   (link, write_off or repay)
    svyaz-finance sign-off <reconciliation id> --note "…"
    svyaz-finance reconciliation-export <id> [--format csv|xlsx] -o file
    svyaz-finance sign-out

It makes RPC calls signed with its own bus key (`infra/tools/finance-cli.yml`: it signs
as `finance-cli` and holds no service's key). `sign-in` gives the registry your email
(`--email` or SVYAZ_EMAIL), password (asked, or SVYAZ_PASSWORD for a script) and a code
of your authenticator (asked, `--code` or SVYAZ_CODE); the registry checks all three
and signs an assertion of who you are, which is kept in a file readable by you alone
(`--session`, SVYAZ_SESSION; by default ~/.local/state/svyaz/finance-session.json).
Every other command has the registry renew it first, against your account as it is now:
a disabled account or a lost finance role ends it (exit 7), and so does a sign-in older
than 12 hours. `release` asks for another current code (a fresh second factor, a later
one than the code you signed in with) unless `--code` is given, and with `--wait` shows
the run's progress until no payout is open (or only bank transfers, which the bank's
statement settles). It runs from any directory (`--config`: other settings), and a
file it writes is its user's alone. Exit codes: 0 done; 1 refused by a rule
(role, segregation, state); 2 bad input; 3 not found; 4 a service did not answer; 5 the
code was not right; 6 (`reconcile`) the period has open differences, so a scheduled job
can tell finance; 7 not signed in (the same answer for a wrong email, password or code).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

# finance staff read this terminal: the libraries' deprecation notices (eventlet's,
# pkg_resources') are for developers, who can ask for them with -W or PYTHONWARNINGS
if not sys.warnoptions:
    warnings.simplefilter("ignore")

# one call at a time: the green DNS resolver (a third of eventlet's import, 0.13 s of
# every invocation) has nothing to run beside. Set before anything imports eventlet
os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")

# imported before any call, so errors from the services arrive as these kinds
from stipends.cli_output import (  # noqa: E402
    DIFFERENCE_STATES,
    OPEN,
    item_line,
    progress,
    reconciliation_summary,
    statement_summary,
    totals_table,
    words,
)
from svyaz import idempotency, money  # noqa: E402
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound  # noqa: E402
from svyaz.vocabulary import PAYOUT_STATUSES  # noqa: E402

(
    DONE,
    REFUSED,
    BAD_INPUT,
    NOT_FOUND,
    UNAVAILABLE,
    BAD_CODE,
    DIFFERENCES,
    NOT_SIGNED_IN,
) = range(8)
# the repository this CLI runs from (services/stipends/stipends/cli.py): its settings
# and the bus keys they name are found there from any working directory
ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CONFIG = ROOT / "infra" / "tools" / "finance-cli.yml"
KEY_PATHS = ("BUS_PRIVATE_KEY", "BUS_PUBLIC_KEYS")


class Failed(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def ask(prompt: str, instead: str) -> str:
    """A secret typed at the terminal; without a terminal (a script, a pipe), a
    refusal that says how to give it instead."""
    refusal = Failed(f"no terminal to ask for it on: give it with {instead}", BAD_INPUT)
    if not sys.stdin.isatty():
        raise refusal
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise refusal from None


def settings_for(config_path: Path) -> dict[str, Any]:
    """The CLI's settings; the repository's own file (the default) is read, with
    the key files it names, from any working directory."""
    from svyaz import config as settings

    try:
        config = settings.load(config_path)
    except OSError as exc:
        raise Failed(
            f"the settings file {config_path} cannot be read ({exc.strerror}); give "
            "--config with the path of infra/tools/finance-cli.yml",
            BAD_INPUT,
        ) from None
    config.pop("LOGGING", None)
    if config_path == DEFAULT_CONFIG:  # its relative key paths are the repository's
        for key in KEY_PATHS:
            value = config.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                config[key] = str(ROOT / value)
    return config


@contextmanager
def connected(config_path: Path) -> Iterator[Any]:
    from svyaz import config as settings
    from svyaz import signing
    from svyaz.keys import FINANCE_CLI
    from svyaz.rpc_proxy import ClusterRpcProxy

    config = settings_for(config_path)
    signing.register()
    signing.configure_from_config(config, FINANCE_CLI)
    timeout = settings.positive(config, "RPC_TIMEOUT", 30)
    with ClusterRpcProxy(config, timeout=timeout) as rpc:
        yield rpc


def read_file(name: str) -> str:
    """A file the command reads (a statement, a report) as text; one that cannot be
    read is bad input, said in words (exit 2), before anything is sent."""
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        why = "there is no such file"
    except IsADirectoryError:
        why = "it is a folder, not a file"
    except PermissionError:
        why = "you may not read it"
    except UnicodeDecodeError:
        why = "it is not a text file (CSV, in UTF-8)"
    except OSError as exc:
        why = exc.strerror or "it cannot be read"
    raise Failed(f"cannot read {name}: {why}", BAD_INPUT)


def worded(fields: Any) -> str:
    """A refusal's fields as lines a person reads ("  period_end: must be after
    period_start"), not as JSON; "" when there are none."""
    if not isinstance(fields, dict) or not fields:
        return ""
    lines = []
    for name, said in fields.items():
        words = said if isinstance(said, list) else [said]
        text = "; ".join(str(w) for w in words if w) or "not accepted"
        lines.append(f"\n  {name}: {text}")
    return "".join(lines)


def translate(exc: Exception) -> Failed:
    """Service errors (kinds that crossed RPC) as exit codes."""
    from nameko.exceptions import RpcTimeout, UnknownService

    if isinstance(exc, InvalidInput):
        return Failed(f"{exc}{worded(getattr(exc, 'fields', None))}", BAD_INPUT)
    if isinstance(exc, NotFound):
        return Failed(str(exc), NOT_FOUND)
    if getattr(exc, "code", "") == "second_factor_failed":
        return Failed(str(exc), BAD_CODE)
    if isinstance(exc, (Forbidden, Conflict)):
        return Failed(str(exc), REFUSED)
    if isinstance(exc, UnknownService):
        return Failed("a service is not running; nothing was changed", UNAVAILABLE)
    if isinstance(exc, RpcTimeout):
        return Failed(
            "a service did not answer in time; it may still have done it: run the "
            "same command again with --idempotency-key "
            f"{idempotency.current_key() or '(the same key)'} and it is done once",
            UNAVAILABLE,
        )
    raise exc


def signed_in(
    rpc: Any, email: str, password: str, code: str
) -> tuple[dict[str, Any], str | None]:
    """The finance member this email, password and authenticator code are, as the
    registry says, with the assertion it signed (`{"id", "roles", "assertion",
    "expires_at"}`, what the session keeps), and the name their colleagues know
    them by, if they have one (to greet them; not kept). Anyone else gets the same
    refusal."""
    answer = rpc.registry.sign_in(email, password, code)
    actor = answer.get("actor") if isinstance(answer, dict) else None
    if (
        answer.get("status") != "ok"
        or not actor
        or not actor.get("assertion")
        or "finance" not in actor.get("roles", ())
    ):
        raise Failed(
            "not signed in: the email, password or code is not right, or the account "
            "is not a finance member's with a confirmed authenticator",
            NOT_SIGNED_IN,
        )
    handle = answer.get("handle")
    return dict(actor), str(handle) if handle else None


def default_session_file() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "svyaz" / "finance-session.json"


def save_session(path: Path, actor: dict[str, Any]) -> None:
    """The signed-in actor, readable by its owner alone (it acts as them until
    the registry stops renewing it)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(actor, handle)
    temporary.replace(path)


def current_actor(rpc: Any, path: Path) -> dict[str, Any]:
    """The saved sign-in, renewed by the registry against the account as it is
    now; exit 7 when there is none or the registry no longer renews it."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        raise Failed(
            "not signed in: run `svyaz-finance sign-in` first", NOT_SIGNED_IN
        ) from None
    try:
        renewed = rpc.registry.renew_assertion(saved.get("assertion"))
    except (Forbidden, InvalidInput) as exc:
        path.unlink(missing_ok=True)
        raise Failed(
            f"your sign-in has ended ({exc}): run `svyaz-finance sign-in` again",
            NOT_SIGNED_IN,
        ) from None
    if "finance" not in renewed.get("roles", ()):
        path.unlink(missing_ok=True)
        raise Failed("not signed in: you are no longer a finance member", NOT_SIGNED_IN)
    save_session(path, renewed)
    return dict(renewed)


def run_command(
    args: argparse.Namespace,
    rpc: Any,
    out: TextIO,
    err: TextIO,
    ask_code: Callable[[], str],
    sleep: Callable[[float], None] = time.sleep,
    ask_password: Callable[[], str] = lambda: ask("password: ", "SVYAZ_PASSWORD"),
) -> int:
    session_file = Path(args.session) if args.session else default_session_file()
    if args.command == "sign-in":
        if not args.email:
            raise Failed("give --email (or set SVYAZ_EMAIL)", BAD_INPUT)
        password = os.environ.get("SVYAZ_PASSWORD") or ask_password()
        code = args.code or os.environ.get("SVYAZ_CODE") or ask_code()
        actor, handle = signed_in(rpc, args.email, password, code.strip())
        save_session(session_file, actor)
        who = handle or f"the finance member {actor['id']}"
        print(f"signed in as {who}", file=out)
        return DONE
    if args.command == "sign-out":
        session_file.unlink(missing_ok=True)
        print("signed out", file=out)
        return DONE
    actor = current_actor(rpc, session_file)
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
            amount = money.plain(
                payout["amount_minor"], payout["currency"], grouped=True
            )
            print(
                f"{payout['id']}  {payout['status']:<10} {payout['provider']:<15} "
                f"{amount} {payout['currency']}"
                f"{'  ' + payout['failure_code'] if payout['failure_code'] else ''}",
                file=out,
            )
    elif args.command == "release":
        code = args.code or ask_code()
        run = stipends.release_payout_run(actor, args.run, args.totals, code)
        print(f"run {run['id']} {run['status']}", file=out)
        if args.wait:
            follow(stipends, actor, args.run, err, sleep, args.interval)
    elif args.command == "action":
        payout = stipends.payout_action(actor, args.payout, args.action, args.reason)
        print(f"{payout['id']} {payout['status']}", file=out)
    elif args.command == "export":
        content = stipends.payout_bank_file(actor, args.run, args.format)
        if args.output:
            write_private(Path(args.output), content.encode())
        else:
            out.write(content)
    elif args.command == "statement":
        result = stipends.import_bank_statement(actor, read_file(args.file))
        if args.json:
            print(json.dumps(result, indent=2, default=str), file=out)
        else:
            print(statement_summary(result), file=out)
    elif args.command == "reconcile":
        return reconcile(args, stipends, actor, out)
    elif args.command == "differences":
        shown = 0
        for item in all_items(
            stipends, actor, args.reconciliation, args.state, args.kind
        ):
            print(item_line(item), file=out)
            shown += 1
        if not shown:  # said, so that an empty answer is not read as a failure
            which = f"{words(args.state, DIFFERENCE_STATES)} " if args.state else ""
            print(f"no {which}differences", file=out)
    elif args.command == "resolve":
        done = stipends.resolve_reconciliation_items(
            actor,
            args.reconciliation,
            args.items,
            args.action,
            args.reason,
            args.payout,
            args.write_off_to,
        )
        for item in done:
            print(item_line(item), file=out)
    elif args.command == "sign-off":
        rec = stipends.sign_off_reconciliation(actor, args.reconciliation, args.note)
        print(reconciliation_summary(rec), file=out)
    elif args.command == "reconciliation-export":
        from svyaz import exports

        rec = stipends.get_reconciliation(actor, args.reconciliation)
        items = list(all_items(stipends, actor, args.reconciliation, None, None, err))
        body, _ = exports.reconciliation(args.format, rec, items)
        write_private(Path(args.output), body)
        print(f"{len(items)} differences written to {args.output}", file=out)
    return DONE


def follow(
    stipends: Any,
    actor: Any,
    run_id: str,
    err: TextIO,
    sleep: Callable[[float], None],
    interval: float,
) -> None:
    """The run's progress until no payout is open, or until those still open are
    bank transfers sent in a file (they stay sent until the bank's statement is
    imported: said, not waited for). On a terminal the line is redrawn in place;
    elsewhere (a log, a pipe) a line is written when the counts change."""
    on_terminal = err.isatty()
    shown = ""
    while True:
        counts = stipends.get_payout_run(actor, run_id)["payouts_by_status"]
        line = progress(counts)
        if on_terminal:
            print(f"\r{line}", end="", file=err, flush=True)
        elif line != shown:
            print(line, file=err, flush=True)
        shown = line
        open_now = sum(counts.get(s, 0) for s in OPEN)
        if not open_now:
            break
        if counts.get("sent", 0) == open_now:
            waiting = [
                p for p in stipends.list_payouts(actor, run_id) if p["status"] in OPEN
            ]
            # (none left: settled since the count; the next round shows it)
            if waiting and all(p["provider"] == "bank_file" for p in waiting):
                if on_terminal:
                    print(file=err)
                print(
                    f"{len(waiting)} bank transfer(s) sent in the bank file stay sent "
                    "until the bank's statement is imported (`svyaz-finance "
                    "statement`); not waiting for them",
                    file=err,
                )
                return
        sleep(interval)
    if on_terminal:
        print(file=err)


def write_private(path: Path, body: bytes) -> None:
    """A file of account details or payments, readable by its owner alone (an
    existing file is emptied and made so too)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except FileNotFoundError:
        raise Failed(
            f"cannot write {path}: its folder does not exist", BAD_INPUT
        ) from None
    except IsADirectoryError:
        raise Failed(
            f"cannot write {path}: it is a folder; name a file", BAD_INPUT
        ) from None
    except OSError as exc:
        raise Failed(f"cannot write {path}: {exc.strerror}", BAD_INPUT) from None
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)


def all_items(
    stipends: Any,
    actor: dict[str, Any],
    reconciliation: str,
    state: str | None,
    kind: str | None,
    err: TextIO | None = None,
    page: int = 1000,
) -> Iterator[dict[str, Any]]:
    """Every item, a page at a time (a count on `err` as they come)."""
    after, seen = 0, 0
    while True:
        found = stipends.list_reconciliation_items(
            actor, reconciliation, state, kind, after, page
        )
        seen += len(found)
        if err is not None:
            print(f"\r{seen} differences read", end="", file=err, flush=True)
        yield from found
        if len(found) < page:
            if err is not None:
                print(file=err)
            return
        after = found[-1]["id"]


def reconcile(
    args: argparse.Namespace, stipends: Any, actor: dict[str, Any], out: TextIO
) -> int:
    source, content = "api", None
    if args.itemized:
        source, content = "itemized_csv", read_file(args.itemized)
    elif args.statement:
        source, content = "bank_statement", read_file(args.statement)
    rec = stipends.reconcile_period(
        actor, args.provider, args.start, args.end, source, content
    )
    print(reconciliation_summary(rec), file=out)
    return DIFFERENCES if rec["open_items"] else DONE


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="svyaz-finance", description=(__doc__ or "").splitlines()[0]
    )
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    p.add_argument(
        "--idempotency-key",
        help="this invocation's key (8 to 64 letters, digits, - or _; new each "
        "time unless given): the same command with the same key takes effect once",
    )
    p.add_argument(
        "--email",
        default=os.environ.get("SVYAZ_EMAIL"),
        help="sign-in: the email you sign in with (or SVYAZ_EMAIL)",
    )
    p.add_argument(
        "--session",
        default=os.environ.get("SVYAZ_SESSION"),
        help="where the sign-in is kept (or SVYAZ_SESSION; default "
        "~/.local/state/svyaz/finance-session.json)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    sign_in = sub.add_parser(
        "sign-in", help="sign in (email, password, authenticator code)"
    )
    sign_in.add_argument("--code", help="authenticator code (or SVYAZ_CODE; asked)")
    sub.add_parser("sign-out", help="forget the sign-in")
    sub.add_parser("build", help="build a run from a cycle").add_argument("cycle")
    sub.add_parser("show", help="a run and its progress").add_argument("run")
    listing = sub.add_parser("payouts", help="a run's payouts")
    listing.add_argument("run")
    listing.add_argument("--status", choices=PAYOUT_STATUSES)
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
    statement = sub.add_parser("statement", help="import a bank statement (CSV)")
    statement.add_argument("file")
    statement.add_argument(
        "--json", action="store_true", help="the counts and problems as JSON"
    )
    rec = sub.add_parser("reconcile", help="reconcile a provider's period")
    rec.add_argument(
        "provider", choices=("stripe_connect", "stripe_global", "bank_file")
    )
    rec.add_argument("start", help="first day, YYYY-MM-DD")
    rec.add_argument("end", help="the day after the last, YYYY-MM-DD")
    files = rec.add_mutually_exclusive_group()
    files.add_argument("--itemized", help="Stripe's itemized balance report (CSV)")
    files.add_argument("--statement", help="the bank's statement (CSV)")
    diffs = sub.add_parser("differences", help="a reconciliation's differences")
    diffs.add_argument("reconciliation")
    diffs.add_argument("--state", choices=("open", "linked", "written_off", "repaid"))
    diffs.add_argument("--kind")
    resolve = sub.add_parser("resolve", help="link, write off or re-pay differences")
    resolve.add_argument("reconciliation")
    resolve.add_argument("items", nargs="+", type=int)
    resolve.add_argument(
        "--action", required=True, choices=("link", "write_off", "repay")
    )
    resolve.add_argument("--reason", required=True)
    resolve.add_argument("--payout", help="the payout a link is to")
    resolve.add_argument(
        "--write-off-to",
        choices=("unexplained_differences", "bank_fees", "fx_differences"),
        default="unexplained_differences",
        help="the ledger account a write-off posts each difference to",
    )
    sign = sub.add_parser(
        "sign-off", help="sign a reconciliation off (a second person)"
    )
    sign.add_argument("reconciliation")
    sign.add_argument("--note", required=True)
    rexport = sub.add_parser("reconciliation-export", help="differences as CSV/XLSX")
    rexport.add_argument("reconciliation")
    rexport.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    rexport.add_argument("-o", "--output", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    key = args.idempotency_key or uuid.uuid4().hex
    if not idempotency.valid_key(key):
        print(
            "svyaz-finance: --idempotency-key is 8 to 64 letters, digits, - or _",
            file=sys.stderr,
        )
        return BAD_INPUT
    idempotency.bind(key)  # one per invocation (svyaz.idempotency)
    try:
        with connected(args.config) as rpc:
            return run_command(
                args,
                rpc,
                sys.stdout,
                sys.stderr,
                lambda: ask("authenticator code: ", "--code (or SVYAZ_CODE)"),
            )
    except Failed as failed:
        print(f"svyaz-finance: {failed}", file=sys.stderr)
        return failed.code
    except Exception as exc:  # noqa: BLE001 - service errors become exit codes
        refusal = translate(exc)
        print(f"svyaz-finance: {refusal}", file=sys.stderr)
        return refusal.code


if __name__ == "__main__":
    sys.exit(main())
