"""Back Svyaz up, and restore a backup into a fresh set of databases.

    python infra/backup/backup.py create            # var/backups/<UTC time>/ and
                                                    # var/backup-keys/<UTC time>/
    python infra/backup/backup.py restore var/backups/<time> --prefix svyaz_r1 \\
        --keys var/backup-keys/<time>

A backup is two folders, to be stored apart (docs/backups.md):

- the data (`--to`): `databases/<service>.dump`, one `pg_dump --format=custom` of
  each service's database, each taken in one snapshot; `broker/definitions.json`,
  the vhost's exchanges, queues, bindings and policies (RabbitMQ's management API,
  `GET /api/definitions/<vhost>`); `erasures.journal`, a copy of the erasure journal
  (never restored over the live one: merged into it, see below); `manifest.json`.
- the keys (`--keys-to`): the bus keys (`var/keys`) and the services' generated
  database and broker passwords (`var/credentials`). Whoever holds the data alone
  holds ciphertext: the personal-data keys (`MASTER_KEYS`, `BLIND_INDEX_KEYS`,
  `ACCESS_LOG_KEYS`) live in the environment or the secret store, never in a file
  this tool copies.

`restore` creates the databases of `--prefix` (each owned by its service's role, as
`make run` does), loads each dump into its own database as that role, marks the
events its outboxes had sent as unsent again (those a consumer had not handled yet
were on the broker, in no dump; the consumers drop the copies they had), loads the
broker definitions into `--vhost`, puts back the keys that are missing, and merges
the backup's copy of the erasure journal into the live journal (a union: an erasure
made after the backup stays in the live file). It refuses a database that exists
already. Then start the services on them (their outbox relays send what the backup
held unsent; consumers drop what they had already handled) and run
`registry.replay_erasures` before anyone uses the registry: people erased after the
backup are erased again.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402

MANIFEST = "manifest.json"


def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore of the newest PostgreSQL on the machine (a dump taken by
    an older pg_dump than the server is refused)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name),
    )
    return str(found[-1]) if found else name


def _admin_dsn(settings: devstack.Settings, database: str) -> str:
    return f"{settings.pg_url}/{database}"


def _management_json(settings: devstack.Settings, path: str) -> object:
    request = urllib.request.Request(f"{settings.management_url}/api/{path}")
    user_password = settings.amqp_host.rpartition("@")[0].encode()
    request.add_header(
        "Authorization", "Basic " + base64.b64encode(user_password).decode()
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def create(settings: devstack.Settings, to: Path, keys_to: Path) -> dict[str, object]:
    """The backup of `settings`' system into `to`, its keys into `keys_to`."""
    if to.resolve() == keys_to.resolve() or keys_to.resolve().is_relative_to(
        to.resolve()
    ):
        raise SystemExit("the keys go apart from the data: give another --keys-to")
    (to / "databases").mkdir(parents=True, exist_ok=False)
    (to / "broker").mkdir()
    to.chmod(0o700)
    manifest: dict[str, object] = {
        "taken_at": datetime.now(UTC).isoformat(),
        "prefix": settings.db_prefix,
        "vhost": settings.vhost,
        "databases": {},
    }
    for service in devstack.WITH_DB:
        out = to / "databases" / f"{service}.dump"
        subprocess.run(
            [
                _pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={out}",
                _admin_dsn(settings, settings.db_name(service)),
            ],
            check=True,
        )
        manifest["databases"][service] = out.name  # type: ignore[index]
    vhost = urllib.parse.quote(settings.vhost, safe="")
    definitions = _management_json(settings, f"definitions/{vhost}")
    (to / "broker" / "definitions.json").write_text(json.dumps(definitions, indent=1))
    journal = settings.var / "erasures.journal"
    if journal.exists():
        shutil.copyfile(journal, to / "erasures.journal")
    (to / MANIFEST).write_text(json.dumps(manifest, indent=1))
    keys_to.mkdir(parents=True, exist_ok=False)
    keys_to.chmod(0o700)
    for name, source in _key_folders(settings):
        if source.exists():
            shutil.copytree(source, keys_to / name)
    return manifest


def restore(
    settings: devstack.Settings,
    backup: Path,
    keys: Path | None = None,
    resend_since: datetime | None = None,
) -> dict[str, object]:
    """`backup` into `settings`' databases (made here, refused if they exist) and
    vhost (which must exist); the erasure journal merged into the live one.

    Every outbox row sent at or after `resend_since` (None: every row the outbox
    still keeps, OUTBOX_RETENTION_DAYS) is marked unsent again, so the relays send
    it once more: an event a producer had sent but a consumer had not handled when
    its database was dumped was on the broker, not in any dump. Consumers drop the
    copies they had handled (their `processed_events` came back with them)."""
    manifest = json.loads((backup / MANIFEST).read_text())
    if keys is not None:  # put back what is missing, never over what is there
        for name, target in _key_folders(settings):
            if (keys / name).exists():
                shutil.copytree(
                    keys / name, target, dirs_exist_ok=True, copy_function=_copy_missing
                )
    admin = devstack._admin_connection(settings)
    with admin.cursor() as cur:
        for service in devstack.WITH_DB:
            cur.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s",
                (settings.db_name(service),),
            )
            if cur.fetchone():
                raise SystemExit(
                    f"{settings.db_name(service)} exists: restore into a new --prefix"
                )
    admin.close()
    devstack.create_databases(settings)
    for service, dump in manifest["databases"].items():
        subprocess.run(
            [
                _pg_tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                f"--role={settings.db_role(service)}",  # objects owned by the role
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={_admin_dsn(settings, settings.db_name(service))}",
                str(backup / "databases" / dump),
            ],
            check=True,
        )
        resent = _resend(settings, service, resend_since)
        manifest.setdefault("resent", {})[service] = resent
    # restored without privileges: the migrations (at head, nothing to apply) grant
    # each runtime role what it needs, as `make run` does
    devstack.migrate(settings)
    definitions = backup / "broker" / "definitions.json"
    vhost = urllib.parse.quote(settings.vhost, safe="")
    status = devstack._management(
        settings, "POST", f"definitions/{vhost}", definitions.read_bytes()
    )
    if status not in (200, 201, 204):
        raise RuntimeError(f"loading the broker's definitions: {status}")
    copy = backup / "erasures.journal"
    if copy.exists():
        merge_journal(copy, settings.var / "erasures.journal")
    return manifest


def _resend(settings: devstack.Settings, service: str, since: datetime | None) -> int:
    """Mark the restored outbox's rows sent since `since` (None: all) unsent."""
    import psycopg2

    conn = psycopg2.connect(_admin_dsn(settings, settings.db_name(service)))
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "UPDATE outbox SET sent_at = NULL, attempts = 0, "
                "next_attempt_at = NULL, last_error = NULL "
                "WHERE sent_at IS NOT NULL AND (%(since)s::timestamptz IS NULL "
                "OR sent_at >= %(since)s)",
                {"since": since},
            )
            return int(cur.rowcount)
    finally:
        conn.close()


def _key_folders(settings: devstack.Settings) -> tuple[tuple[str, Path], ...]:
    """The folders of secrets a backup keeps apart: the bus keys, the passwords."""
    return (("keys", settings.keys), ("credentials", settings.credentials))


def _copy_missing(source: str, target: str) -> None:
    if not Path(target).exists():
        shutil.copy2(source, target)


def merge_journal(copy: Path, live: Path) -> int:
    """Append to `live` the lines of `copy` it lacks (the union the journal's readers
    expect); the live file is never replaced. How many lines were added."""
    have = set(live.read_text().splitlines()) if live.exists() else set()
    missing = [
        line for line in copy.read_text().splitlines() if line and line not in have
    ]
    if missing:
        live.parent.mkdir(parents=True, exist_ok=True)
        with open(live, "a") as handle:
            if live.stat().st_size and not live.read_bytes().endswith(b"\n"):
                handle.write("\n")  # a torn last line stays a line of its own
            handle.write("".join(f"{line}\n" for line in missing))
    return len(missing)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    made = commands.add_parser("create", help="back up the `make run` system")
    made.add_argument("--to", type=Path, default=ROOT / "var" / "backups" / stamp)
    made.add_argument(
        "--keys-to", type=Path, default=ROOT / "var" / "backup-keys" / stamp
    )
    back = commands.add_parser("restore", help="restore into new databases")
    back.add_argument("backup", type=Path)
    back.add_argument("--prefix", required=True, help="the new databases' prefix")
    back.add_argument("--vhost", default="/", help="an existing vhost")
    back.add_argument("--keys", type=Path, help="the backup's keys folder")
    back.add_argument(
        "--resend-since",
        type=datetime.fromisoformat,
        help="send again the events sent since (UTC ISO time; default: every one "
        "the outboxes keep)",
    )
    args = parser.parse_args()
    if args.command == "create":
        settings = devstack.Settings()
        manifest = create(settings, args.to, args.keys_to)
        print(f"backup in {args.to}, keys in {args.keys_to}: store them apart")
        print(json.dumps(manifest, indent=1))
    else:
        settings = devstack.Settings(db_prefix=args.prefix, vhost=args.vhost)
        manifest = restore(settings, args.backup, args.keys, args.resend_since)
        print(f"events to send again: {manifest['resent']}")
        print(
            f"restored into {settings.db_name('<service>')}; start the services on "
            "them, then run registry.replay_erasures (docs/backups.md)"
        )


if __name__ == "__main__":
    main()
