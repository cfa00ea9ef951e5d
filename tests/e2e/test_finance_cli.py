"""svyaz-finance against the running system: only a finance member signs in; build
a run, see its totals, a wrong code refused with its exit code, release with a fresh
code and follow it to the end, and a second release refused by the run's state; then
reconciliation: today's Stripe period matched, a bank statement's differences listed,
resolved in bulk, the sign-off refused to the same person, and the differences
exported."""

import os
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pyotp

from tests.conftest import ROOT
from tests.helpers import next_code
from tests.journeys import PASSWORD, approved_stipend, enrolled_staff
from tests.stack import System

CLI = str(ROOT / ".venv" / "bin" / "svyaz-finance")


def finance_member(system: System, rpc: object) -> tuple[str, pyotp.TOTP]:
    """(email, authenticator) of a new finance member, enrolled."""
    _, email, totp = enrolled_staff(system, rpc, ["finance"])
    return email, totp


def _enrolled(system: System, rpc: object, roles: list[str]) -> tuple[str, pyotp.TOTP]:
    _, email, totp = enrolled_staff(system, rpc, roles)
    return email, totp


def test_a_run_from_the_terminal(system: System, tmp_path: Path) -> None:
    session_file = tmp_path / "finance-session.json"
    with system.rpc() as rpc:
        cycle = approved_stipend(system, rpc)
        email, totp = finance_member(system, rpc)
        admin, admin_totp = _enrolled(system, rpc, ["program_admin"])
    env = {
        **os.environ,
        **system.settings.env("gateway"),
        "SVYAZ_EMAIL": email,
        "SVYAZ_PASSWORD": PASSWORD,
        "SVYAZ_SESSION": str(session_file),
    }
    # the CLI's own key (infra/tools/finance-cli.yml), not the gateway's, and its own
    # broker user
    env["BUS_PRIVATE_KEY"] = str(system.settings.keys / "private" / "finance-cli.key")
    env["AMQP_URI"] = system.settings.service_amqp_uri("finance-cli")

    def cli(*args: str, **changes: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, **changes},
            cwd=ROOT,
        )

    # nothing before signing in
    unsigned = cli("show", str(uuid.uuid4()))
    assert unsigned.returncode == 7 and "svyaz-finance sign-in" in unsigned.stderr
    # the registry checks password and code: a wrong one, and an admin, are refused
    for code, changes in (
        (totp.now(), {"SVYAZ_PASSWORD": "not the password"}),
        ("000000", {}),
        (admin_totp.now(), {"SVYAZ_EMAIL": admin}),
    ):
        refused = cli("sign-in", "--code", code, **changes)
        assert refused.returncode == 7 and "not signed in" in refused.stderr
        assert not session_file.exists()
    signed = cli("sign-in", "--code", totp.now())
    assert signed.returncode == 0, signed.stderr
    assert session_file.stat().st_mode & 0o777 == 0o600  # its owner's alone

    built = cli("build", cycle)
    assert built.returncode == 0, built.stderr
    assert re.search(r"EUR\s+stripe_connect\s+1\s+250\.00", built.stdout)
    run = re.search(r"^run ([0-9a-f-]+)\s+draft", built.stdout, re.M).group(1)
    digest = re.search(r"totals digest: ([0-9a-f]+)", built.stdout).group(1)

    wrong = cli("release", run, "--totals", digest, "--code", "000000")
    assert wrong.returncode == 5 and "not right" in wrong.stderr
    other_totals = cli("release", run, "--totals", "0" * 64, "--code", totp.now())
    assert other_totals.returncode == 1 and "totals" in other_totals.stderr

    released = cli(
        "release", run, "--totals", digest, "--code", next_code(totp), "--wait",
        "--interval", "0.5",
    )  # fmt: skip
    assert released.returncode == 0, released.stderr
    assert f"run {run} released" in released.stdout
    assert re.search(r"\[#+\] 1/1 .*(paid|sent) 1", released.stderr)

    again = cli("release", run, "--totals", digest, "--code", totp.now())
    assert again.returncode == 1, again.stderr  # a released run is not released twice
    listing = cli("payouts", run)
    assert listing.returncode == 0 and re.search(
        r"(paid|sent)\s+stripe_connect", listing.stdout
    )
    missing = cli("show", str(uuid.uuid4()))
    assert missing.returncode == 3

    # reconciliation of today's Stripe period: the paid transfer matches
    today = datetime.now(UTC).date()
    period = [str(today - timedelta(days=1)), str(today + timedelta(days=1))]
    matched = cli("reconcile", "stripe_connect", *period)
    assert matched.returncode == 0, matched.stderr
    assert re.search(r"matched [1-9]\d* · differences 0", matched.stdout), (
        matched.stdout
    )
    assert "not to be signed off: run before its period ended" in matched.stdout
    # a bank statement naming no payout of ours: open differences, exit 6
    statement = system.settings.var / "statement.csv"
    statement.write_text(
        "reference,amount,currency,status\n"
        f"payout:{uuid.uuid4()},10.00,EUR,booked\n"
        f"payout:{uuid.uuid4()},20.00,EUR,booked\n"
    )
    # a day with no bank payout of ours (other tests pay by bank today)
    quiet = ["2020-01-01", "2020-01-02"]
    found = cli("reconcile", "bank_file", *quiet, "--statement", str(statement))
    assert found.returncode == 6, found.stderr
    rec = re.search(r"^reconciliation ([0-9a-f-]+)", found.stdout, re.M).group(1)
    listed = cli("differences", rec, "--state", "open")
    items = re.findall(
        r"^\s*(\d+)\s+unexpected at the provider\s+open", listed.stdout, re.M
    )
    assert len(items) == 2, listed.stdout
    wrong_action = cli("resolve", rec, *items, "--action", "repay", "--reason", "no")
    assert wrong_action.returncode == 1 and "repay" in wrong_action.stderr
    resolved = cli(
        "resolve", rec, *items, "--action", "write_off", "--reason", "bank test lines"
    )
    assert resolved.returncode == 0 and resolved.stdout.count("written off") == 2
    none_open = cli("differences", rec, "--state", "open")
    assert (none_open.returncode, none_open.stdout) == (0, "no open differences\n")
    own = cli("sign-off", rec, "--note", "checked")
    assert own.returncode == 1 and "second finance person" in own.stderr
    out = system.settings.var / "differences.xlsx"
    exported = cli("reconciliation-export", rec, "--format", "xlsx", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    book = openpyxl.load_workbook(out)  # the consoles' download: a summary sheet too
    assert book.sheetnames == ["summary", "differences"]
    summary = {row[0].value: row[1].value for row in book["summary"].iter_rows()}
    assert summary["provider"] == "bank_file"
    sheet = book["differences"]
    assert [c.value for c in sheet[1]][:3] == ["item_id", "kind", "state"]
    assert sheet.max_row == 3 and sheet.cell(2, 3).value == "written_off"
