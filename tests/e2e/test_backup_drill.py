"""The restore drill (docs/backups.md): a backup taken while the registry's outbox
holds events not yet sent, restored into a fresh set of databases and a fresh vhost
with infra/backup/backup.py, and a system started on them.

The restored system sends what was waiting in the outbox and what was on the
broker (sent, not yet handled: in no dump, and the new vhost is empty), each
applicant known to stipends and mailed once; it does nothing twice (the restore
sends every kept event again, and what had been handled before the backup is
dropped by the consumers' inboxes, not mailed again); and the person erased after
the backup stays erased once `replay_erasures` has run (the live erasure journal,
kept apart from the backup).

It starts two whole systems (45–60 s on this machine), more than `make test` has
room for: `make drill` runs it (RESTORE_DRILL=1), and so does `make chaos`.
"""

import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT
from tests.helpers import wait_until
from tests.journeys import ADMINS
from tests.stack import System, running_system

pytestmark = pytest.mark.skipif(
    not os.environ.get("RESTORE_DRILL"),
    reason="the restore drill starts two systems: make drill (RESTORE_DRILL=1)",
)

sys.path.insert(0, str(ROOT / "infra" / "backup"))
import backup  # noqa: E402

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402


def apply(system: System) -> tuple[str, str]:
    """A person applies through the API: (their registry id, their email)."""
    pseudonym = f"bk_{uuid.uuid4().hex[:8]}"
    email = f"{pseudonym}@example.org"
    answer = requests.post(
        f"{system.url}/api/v1/applications",
        timeout=30,
        json={
            "pseudonym": pseudonym,
            "legal_name": "Irina S.",
            "email": email,
            "country": "GE",
            "city": "Tbilisi",
            "consent_version": "2026-11",
            "consent": True,
        },
    )
    assert answer.status_code == 202, answer.text
    (row,) = system.sql(
        "registry", "SELECT id FROM communicators WHERE pseudonym = :p", p=pseudonym
    )
    return str(row[0]), email


def mailed(system: System) -> dict[str, int]:
    counts: dict[str, int] = {}
    for mail in system.mails():
        counts[str(mail["To"])] = counts.get(str(mail["To"]), 0) + 1
    return counts


def known_to_stipends(system: System, ids: list[str]) -> bool:
    found = system.sql(
        "stipends",
        "SELECT count(*) FROM communicators WHERE id::text = ANY(:ids)",
        ids=ids,
    )
    return bool(found == [(len(ids),)])


def unsent(system: System) -> int:
    return int(
        system.sql("registry", "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][
            0
        ]
    )


def test_a_restored_backup_sends_what_waited_and_keeps_the_erased_erased(
    tmp_path: Path,
) -> None:
    data, keys = tmp_path / "backup", tmp_path / "backup-keys"
    restored_var = tmp_path / "restored"
    with running_system(tmp_path / "original", prefix="bk") as original:
        # sent and handled before the backup
        sent, sent_email = apply(original)
        erased, erased_email = apply(original)
        wait_until(
            lambda: known_to_stipends(original, [sent, erased]),
            "the first applicants in stipends",
            30,
        )
        wait_until(
            lambda: mailed(original).get(sent_email) == 1,
            "the first applicant's acknowledgement",
            30,
        )
        # stipends and notifications stop: the next event is sent (the registry's
        # outbox marks it so) and waits on the broker, in no database
        for consumer in ("stipends", "notifications"):
            original.stack.kill(consumer, signal.SIGTERM)
        in_flight, in_flight_email = apply(original)
        wait_until(lambda: unsent(original) == 0, "the event sent to the broker", 30)
        # the registry's relay stops: what happens now waits in its outbox
        original.stack.kill("registry", signal.SIGTERM)
        original.stack.start_service("registry", OUTBOX_RELAY_ENABLED="false")
        devstack.wait_for(
            lambda: devstack.queue_consumers(original.settings, "rpc-registry") > 0,
            "the registry without its relay",
        )
        waiting = [apply(original) for _ in range(3)]
        assert unsent(original) >= 3
        began = time.monotonic()
        manifest = backup.create(original.settings, data, keys)
        took = {"backup": time.monotonic() - began}
        assert manifest["databases"]
        # after the backup: one person is erased (the journal records it)
        with original.rpc() as rpc:
            rpc.registry.erase(ADMINS[0], erased, "asked to be forgotten")
        journal = original.settings.var / "erasures.journal"
        assert erased in journal.read_text()
        # the journal is on storage of its own: the restored registry mounts it
        restored_var.mkdir()
        (restored_var / "erasures.journal").write_bytes(journal.read_bytes())

    assert set(manifest["databases"]) == {
        "registry",
        "stipends",
        "notifications",
        "gateway",
        "insights",
    }
    assert not any(p.is_relative_to(data) for p in keys.rglob("*"))
    assert (keys / "credentials").is_dir() and not (data / "credentials").exists()

    restored_manifest: dict[str, Any] = {}

    def restore(settings: Any) -> None:
        began = time.monotonic()
        restored_manifest.update(backup.restore(settings, data, keys))
        took["restore"] = time.monotonic() - began

    with running_system(restored_var, prefix="rs", prepare=restore) as restored:
        began = time.monotonic()
        # the events the registry had sent (the first two people's, and the one on
        # the broker) are sent again
        assert restored_manifest["resent"]["registry"] >= 3
        # what waited in the outbox, and what was on the broker, goes out once;
        # what had been handled, not again
        waiting.append((in_flight, in_flight_email))
        ids = [ident for ident, _ in waiting]
        wait_until(
            lambda: known_to_stipends(restored, ids),
            "the waiting applicants in stipends",
            60,
        )
        wait_until(
            lambda: all(mailed(restored).get(email) for _, email in waiting),
            "the waiting applicants' acknowledgements",
            60,
        )
        assert unsent(restored) == 0
        took["waiting sent"] = time.monotonic() - began
        # the restored database has the erased person back, until the replay
        assert restored.sql(
            "registry",
            "SELECT wrapped_key IS NOT NULL FROM communicators WHERE id = :i",
            i=erased,
        ) == [(True,)]
        with restored.rpc() as rpc:
            report = rpc.registry.replay_erasures(ADMINS[0])
            assert report["shredded"] == [erased]
            assert rpc.registry.replay_erasures(ADMINS[0])["shredded"] == []
        assert restored.sql(
            "registry",
            "SELECT wrapped_key IS NULL AND email_ct IS NULL AND erased_at IS NOT "
            "NULL FROM communicators WHERE id = :i",
            i=erased,
        ) == [(True,)]
        wait_until(
            lambda: (
                restored.sql(
                    "stipends",
                    "SELECT erased FROM communicators WHERE id = :i",
                    i=erased,
                )
                == [(True,)]
            ),
            "stipends to erase its copy again",
            30,
        )
        size = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
        print(
            f"\ndrill: backup {took['backup']:.2f} s ({size / 1024:.0f} KiB), "
            f"restore {took['restore']:.2f} s, what waited sent and handled "
            f"{took['waiting sent']:.2f} s after the restored system was up"
        )
        counts = mailed(restored)
        assert {email: counts.get(email) for _, email in waiting} == {
            email: 1 for _, email in waiting
        }
        # sent before the backup: not sent again; the erased person is not mailed
        assert counts.get(sent_email) is None
        assert counts.get(erased_email) is None
        assert unsent(restored) == 0
