"""svyaz-finance's pieces without a bus: the progress line, the totals table, and the
mapping of service errors to exit codes."""

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from stipends import cli
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound


def test_the_progress_line_counts_what_is_settled() -> None:
    line = cli.progress({"paid": 8, "failed": 1, "sent": 1, "queued": 5}, width=15)
    assert line.startswith("[#########......] 9/15")
    assert "paid 8" in line and "queued 5" in line
    assert cli.progress({}, width=4) == "[####] 0/0  "


def test_the_totals_table_shows_major_units_and_the_digest() -> None:
    table = cli.totals_table(
        {
            "id": "r1",
            "status": "draft",
            "totals": [
                {
                    "currency": "EUR",
                    "provider": "bank_file",
                    "count": 3,
                    "sum_minor": 123456,
                }
            ],
            "totals_digest": "ab" * 32,
        }
    )
    assert "EUR      bank_file           3  1,234.56" in table
    assert table.endswith("ab" * 32)


@pytest.mark.parametrize(
    "error,code",
    [
        (InvalidInput("bad", "bad", {"run_id": ["not a valid id"]}), cli.BAD_INPUT),
        (NotFound("no run", "run_not_found"), cli.NOT_FOUND),
        (Forbidden("approved one of its stipends", "approver"), cli.REFUSED),
        (Conflict("released already", "run_released"), cli.REFUSED),
    ],
)
def test_service_errors_become_exit_codes(error: Exception, code: int) -> None:
    assert cli.translate(error).code == code


def test_a_refused_field_is_told_in_words_not_json() -> None:
    refusal = InvalidInput(
        "a period must end after it starts",
        "invalid_period",
        {"period_end": ["must be after period_start"], "provider": ["unknown", ""]},
    )
    said = str(cli.translate(refusal))
    assert said == (
        "a period must end after it starts\n"
        "  period_end: must be after period_start\n"
        "  provider: unknown"
    )
    assert "{" not in said and "[" not in said
    assert str(cli.translate(InvalidInput("bad", "bad"))) == "bad"


def test_an_unexpected_error_is_not_swallowed() -> None:
    with pytest.raises(ZeroDivisionError):
        cli.translate(ZeroDivisionError())


def test_a_reconciliation_summary_and_a_difference_line() -> None:
    summary = cli.reconciliation_summary(
        {
            "id": "r1",
            "provider": "bank_file",
            "period_start": "2026-10-01",
            "period_end": "2026-11-01",
            "status": "open",
            "provider_rows": 5,
            "matched": 3,
            "discrepancies": 2,
            "open_items": 1,
            "by_kind": {"duplicate": {"open": 1}, "reversed": {"written_off": 1}},
        }
    )
    assert "bank_file 2026-10-01 – 2026-10-31  open" in summary  # to its last day
    assert (
        "matched 3 · differences 2 (paid twice 1, reversed by the provider 1) · open 1"
        in summary
    )
    assert "signed off" not in summary  # run after its period (no flag: as before)
    early = cli.reconciliation_summary(
        {
            "id": "r2",
            "provider": "stripe_connect",
            "period_start": "2026-12-06",
            "period_end": "2026-12-08",
            "status": "open",
            "provider_rows": 1,
            "matched": 1,
            "discrepancies": 0,
            "open_items": 0,
            "by_kind": {},
            "whole_period": False,
        }
    )
    assert early.endswith(
        "\nnot to be signed off: run before its period ended (its last day is "
        "2026-12-07); run the period again after that day and sign that off"
    )
    line = cli.item_line(
        {
            "id": 7,
            "kind": "amount_mismatch",
            "state": "open",
            "ours_minor": 30000,
            "ours_currency": "EUR",
            "theirs_minor": 30001,
            "theirs_currency": "EUR",
            "payout_id": "p1",
            "provider_ref": "tr_1",
        }
    )
    assert "300.00 EUR" in line and "300.01 EUR" in line and line.endswith("p1")
    assert "amounts differ" in line and "_" not in line  # words, not codes
    unmatched = cli.item_line(UNMATCHED)
    assert unmatched.endswith("statement line 3")  # as the bank's file numbers it
    said = cli.item_line({**UNMATCHED, "provider_ref": "line:4 RENT DEC"})
    assert said.endswith("statement line 4 (RENT DEC)")  # and what the bank wrote


UNMATCHED = {
    "id": 8,
    "kind": "unexpected_at_provider",
    "state": "open",
    "ours_minor": None,
    "ours_currency": None,
    "theirs_minor": 1000,
    "theirs_currency": "EUR",
    "payout_id": None,
    "provider_ref": "line:3",
}


def test_reconcile_exits_6_while_differences_are_open() -> None:
    class Stipends:
        def __init__(self, open_items: int) -> None:
            self.open_items = open_items

        def reconcile_period(self, *args: object) -> dict:
            return {
                "id": "r",
                "provider": "stripe_connect",
                "period_start": "2026-11-01",
                "period_end": "2026-12-01",
                "status": "open",
                "provider_rows": 1,
                "matched": 1 - self.open_items,
                "discrepancies": self.open_items,
                "open_items": self.open_items,
                "by_kind": {},
            }

    args = cli.parser().parse_args(
        [
            "--email",
            "x@example.org",
            "reconcile",
            "stripe_connect",
            "2026-10-01",
            "2026-11-01",
        ]
    )
    out = io.StringIO()
    assert cli.reconcile(args, Stipends(0), {}, out) == cli.DONE
    assert cli.reconcile(args, Stipends(1), {}, out) == cli.DIFFERENCES == 6


def test_only_a_finance_member_with_an_authenticator_is_signed_in() -> None:
    class Registry:
        def __init__(self, answer: dict) -> None:
            self.answer = answer

        def sign_in(self, email: str, password: str, code: object) -> dict:
            assert code == "123456"  # the registry checks the code, not the CLI
            return self.answer

    class Rpc:
        def __init__(self, answer: dict) -> None:
            self.registry = Registry(answer)

    finance = {"id": "f1", "roles": ["finance"], "assertion": "signed", "expires_at": 1}
    ok = {"status": "ok", "actor": finance}
    assert cli.signed_in(Rpc(ok), "e", "p", "123456") == (finance, None)
    named = {**ok, "handle": "Fatima"}  # greeted by name; not in the session
    assert cli.signed_in(Rpc(named), "e", "p", "123456") == (finance, "Fatima")
    for answer in (
        {"status": "invalid", "actor": None},
        {"status": "second_factor", "actor": {"id": "f1", "roles": ["finance"]}},
        {"status": "enroll", "actor": finance},  # no confirmed authenticator yet
        {"status": "ok", "actor": {**finance, "roles": ["program_admin"]}},
        {"status": "ok", "actor": {**finance, "assertion": None}},
    ):
        with pytest.raises(cli.Failed) as refused:
            cli.signed_in(Rpc(answer), "e", "p", "123456")
        assert refused.value.code == cli.NOT_SIGNED_IN == 7


class Renewing:
    """A registry that renews a sign-in, or has stopped renewing it."""

    def __init__(self, error: Exception | None = None, roles: tuple = ("finance",)):
        self.error, self.roles, self.asked = error, roles, []

    def renew_assertion(self, assertion: str) -> dict:
        self.asked.append(assertion)
        if self.error:
            raise self.error
        return {"id": "f1", "roles": list(self.roles), "assertion": assertion + "+"}


def test_the_sign_in_is_kept_for_its_owner_alone_and_renewed(tmp_path: Path) -> None:
    path = tmp_path / "state" / "session.json"
    cli.save_session(path, {"id": "f1", "roles": ["finance"], "assertion": "a1"})
    assert path.stat().st_mode & 0o777 == 0o600
    registry = Renewing()
    rpc = type("Rpc", (), {"registry": registry})()
    assert cli.current_actor(rpc, path)["assertion"] == "a1+"
    assert cli.current_actor(rpc, path)["assertion"] == "a1++"  # kept renewed
    assert registry.asked == ["a1", "a1+"]


@pytest.mark.parametrize(
    "registry",
    [
        Renewing(Forbidden("this account may no longer act", "access_ended")),
        Renewing(InvalidInput("not a sign-in to renew", "invalid_actor")),
        Renewing(roles=("program_admin",)),
    ],
)
def test_a_sign_in_the_registry_no_longer_renews_ends(
    tmp_path: Path, registry: Renewing
) -> None:
    path = tmp_path / "session.json"
    cli.save_session(path, {"id": "f1", "roles": ["finance"], "assertion": "a1"})
    rpc = type("Rpc", (), {"registry": registry})()
    with pytest.raises(cli.Failed) as ended:
        cli.current_actor(rpc, path)
    assert ended.value.code == cli.NOT_SIGNED_IN
    assert not path.exists()


def test_no_saved_sign_in_is_not_signed_in(tmp_path: Path) -> None:
    rpc = type("Rpc", (), {"registry": Renewing()})()
    with pytest.raises(cli.Failed, match="svyaz-finance sign-in"):
        cli.current_actor(rpc, tmp_path / "none.json")


def test_a_write_off_names_its_ledger_account() -> None:
    base = ["resolve", "r", "17", "18", "--action", "write_off", "--reason", "fees"]
    assert cli.parser().parse_args(base).write_off_to == "unexplained_differences"
    chosen = cli.parser().parse_args([*base, "--write-off-to", "bank_fees"])
    assert (chosen.items, chosen.write_off_to) == ([17, 18], "bank_fees")
    with pytest.raises(SystemExit):
        cli.parser().parse_args([*base, "--write-off-to", "donations"])


def test_the_terminal_shows_finance_staff_one_line_and_no_library_notices(
    tmp_path: Path,
) -> None:
    """Run as finance staff run it: without a sign-in it says what to do, in one
    line, with no deprecation notice of the libraries under it."""
    import os
    import subprocess
    import sys

    finance = Path(sys.executable).with_name("svyaz-finance")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["SVYAZ_SESSION"] = str(tmp_path / "none.json")
    ran = subprocess.run(
        [str(finance), "show", "00000000-0000-0000-0000-000000000000"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert ran.returncode == 7
    assert ran.stderr.splitlines() == [
        "svyaz-finance: not signed in: run `svyaz-finance sign-in` first"
    ]


def test_the_cli_loads_no_database_library() -> None:
    """The caller's side of idempotency (svyaz.idempotency) is apart from the
    service's (svyaz.commands, which needs SQLAlchemy): the CLI and its RPC proxy
    start without the database's libraries or eventlet's DNS resolver."""
    import subprocess
    import sys

    ran = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; import stipends.cli, svyaz.rpc_proxy; "
            "print(sorted(m for m in ('sqlalchemy', 'psycopg2', 'dns') "
            "if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"


def test_the_settings_and_their_keys_are_found_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not the repository
    monkeypatch.delenv("BUS_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("BUS_PUBLIC_KEYS", raising=False)
    config = cli.settings_for(cli.DEFAULT_CONFIG)
    assert config["BUS_IDENTITY"] == "finance-cli"
    assert config["BUS_PRIVATE_KEY"] == str(
        cli.ROOT / "var" / "keys" / "private" / "finance-cli.key"
    )
    assert config["BUS_PUBLIC_KEYS"] == str(cli.ROOT / "var" / "keys" / "public")
    # a settings file given by its owner keeps its paths as written
    own = tmp_path / "finance.yml"
    own.write_text("BUS_PRIVATE_KEY: keys/finance-cli.key\n")
    assert cli.settings_for(own)["BUS_PRIVATE_KEY"] == "keys/finance-cli.key"


def test_a_missing_settings_file_is_a_clear_refusal(tmp_path: Path) -> None:
    with pytest.raises(cli.Failed) as refused:
        cli.settings_for(tmp_path / "nowhere.yml")
    assert refused.value.code == cli.BAD_INPUT
    assert "--config" in str(refused.value)


class _Run:
    """A run whose payouts move through the given states, one poll at a time."""

    def __init__(self, steps: list[list[tuple[str, str]]]) -> None:
        self.steps = steps
        self.polls = 0

    def _now(self) -> list[tuple[str, str]]:
        return self.steps[min(self.polls, len(self.steps) - 1)]

    def get_payout_run(self, actor: object, run_id: str) -> dict:
        counts: dict[str, int] = {}
        for _, status in self._now():
            counts[status] = counts.get(status, 0) + 1
        self.polls += 1
        return {"payouts_by_status": counts}

    def list_payouts(self, actor: object, run_id: str) -> list[dict]:
        return [
            {"provider": provider, "status": status}
            for provider, status in self.steps[min(self.polls - 1, len(self.steps) - 1)]
        ]


def _patience(polls: int):  # a sleep that gives up: a wait that never ends fails
    slept = []

    def sleep(_: float) -> None:
        slept.append(1)
        if len(slept) >= polls:
            raise AssertionError(f"still waiting after {polls} polls")

    return sleep


def test_waiting_on_a_run_stops_at_bank_transfers_the_statement_settles() -> None:
    run = _Run(
        [
            [("stripe_connect", "queued"), ("bank_file", "queued")],
            [("stripe_connect", "sent"), ("bank_file", "sent")],
            [("stripe_connect", "paid"), ("bank_file", "sent")],
        ]
    )
    err = io.StringIO()  # not a terminal: a line per change, no carriage returns
    cli.follow(run, {}, "r", err, _patience(10), 0.0)
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue()
    assert lines[0].endswith("0/2  queued 2")
    assert lines[-2].endswith("1/2  paid 1 · sent 1")
    assert "1 bank transfer(s)" in lines[-1] and "statement" in lines[-1]
    assert run.polls == 3  # the Stripe payout sent was waited for, not the bank's


def test_waiting_on_a_run_ends_when_every_payout_is_settled() -> None:
    run = _Run([[("stripe_connect", "sent")], [("stripe_connect", "paid")]])
    err = io.StringIO()
    cli.follow(run, {}, "r", err, _patience(10), 0.0)
    assert err.getvalue().splitlines()[-1].endswith("1/1  paid 1")
    assert run.polls == 2


def test_an_exported_file_is_its_owner_s_alone(tmp_path: Path) -> None:
    path = tmp_path / "run.xml"
    path.write_text("an older, longer file")
    path.chmod(0o644)
    cli.write_private(path, b"<Document/>")
    assert path.read_bytes() == b"<Document/>"
    assert path.stat().st_mode & 0o777 == 0o600
    # a place no file can be written is bad input, in words (exit 2)
    for place, said in (
        (tmp_path / "no-such-folder" / "run.xml", "its folder does not exist"),
        (tmp_path, "it is a folder; name a file"),
    ):
        with pytest.raises(cli.Failed) as refused:
            cli.write_private(place, b"<Document/>")
        assert refused.value.code == cli.BAD_INPUT and said in str(refused.value)


def test_a_payout_status_is_one_of_the_statuses() -> None:
    with pytest.raises(SystemExit) as typo:  # argparse: exit 2, the choices named
        cli.parser().parse_args(["payouts", "run-1", "--status", "faild"])
    assert typo.value.code == 2
    args = cli.parser().parse_args(["payouts", "run-1", "--status", "failed"])
    assert args.status == "failed"


def test_a_payout_settled_between_two_reads_is_waited_for_not_called_a_bank_one() -> (
    None
):
    class Settling(_Run):
        def list_payouts(self, actor: object, run_id: str) -> list[dict]:
            return []  # paid since the counts were read

    run = Settling([[("stripe_connect", "sent")], [("stripe_connect", "paid")]])
    err = io.StringIO()
    cli.follow(run, {}, "r", err, _patience(10), 0.0)
    assert "bank transfer" not in err.getvalue()
    assert err.getvalue().splitlines()[-1].endswith("1/1  paid 1")


def test_an_imported_statement_is_told_in_words_with_what_to_check() -> None:
    said = cli.statement_summary(
        {
            "paid": 3,
            "returned": 1,
            "unchanged": 0,
            "problems": [
                {"reference": "payout:1f2e", "problem": "amount_mismatch"},
                {"reference": "INV-77", "problem": "unknown_reference"},
            ],
        }
    ).splitlines()
    assert said[0].startswith("3 paid; 1 returned by the bank")
    assert "2 line(s) changed nothing" in said[1]
    assert said[2] == "  payout:1f2e: its amount is not the payout's"
    assert said[3].startswith("  INV-77: matches no payout sent by bank transfer")
    assert "_" not in "".join(said[2:])  # no internal code
    clean = cli.statement_summary(
        {"paid": 2, "returned": 0, "unchanged": 1, "problems": []}
    )
    assert clean.count("\n") == 0 and "1 settled before" in clean


def test_without_a_terminal_a_secret_is_asked_for_by_option_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_terminal(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(cli.getpass, "getpass", no_terminal)
    with pytest.raises(cli.Failed) as refused:
        cli.ask("authenticator code: ", "--code (or SVYAZ_CODE)")
    assert refused.value.code == cli.BAD_INPUT
    assert "give it with --code (or SVYAZ_CODE)" in str(refused.value)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda d: d / "missing.csv", "there is no such file"),
        (lambda d: d, "it is a folder, not a file"),
        (
            lambda d: (d / "s.bin").write_bytes(b"\xff\xfe\x00\x81") and d / "s.bin",
            "it is not a text file (CSV, in UTF-8)",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_bad_input_in_words(
    tmp_path: Path, make: Callable[[Path], Path], said: str
) -> None:
    """Nothing is sent: the file is read before any call, and refused as exit 2."""
    name = str(make(tmp_path))

    class Stipends:
        def reconcile_period(self, *args: object) -> dict:
            raise AssertionError("nothing should be sent")

    args = cli.parser().parse_args(
        [
            "--email",
            "x@example.org",
            "reconcile",
            "bank_file",
            "2026-10-01",
            "2026-11-01",
            "--statement",
            name,
        ]
    )
    with pytest.raises(cli.Failed) as refused:
        cli.reconcile(args, Stipends(), {}, io.StringIO())
    assert refused.value.code == cli.BAD_INPUT == 2
    assert str(refused.value).startswith(f"cannot read {name}: {said}")
