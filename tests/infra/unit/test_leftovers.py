"""The shapes `infra/dev/leftovers.py` sweeps: every name a test or bench system is
given matches them, and nothing of `make run`'s or the machine's own does."""

import re
import uuid

import leftovers
import pytest
import stack as devstack

TAG = uuid.uuid4().hex[:8]
TEN = uuid.uuid4().hex[:10]
PREFIXES = ("e2e", "browser", "whole", "ops", "bk", "rs", "fo", "chaos", "bench")


def made(prefix: str) -> devstack.Settings:
    """A system's names as tests.stack and the benches give them."""
    return devstack.Settings(db_prefix=f"{prefix}_{TAG}", vhost=f"svyaz-{prefix}-{TAG}")


@pytest.mark.parametrize("prefix", PREFIXES + ("prep",))
def test_every_name_of_a_test_or_bench_system_is_swept(prefix: str) -> None:
    system = made(prefix)
    for service in devstack.WITH_DB:
        assert leftovers.DATABASES.fullmatch(system.db_name(service))
        assert leftovers.ROLES.fullmatch(system.db_role(service))
        assert leftovers.ROLES.fullmatch(system.db_runtime_role(service))
    for service in devstack.SERVICES + devstack.TOOLS:
        assert leftovers.BROKER_USERS.fullmatch(system.broker_user(service))
    assert leftovers.VHOSTS.fullmatch(system.vhost)
    assert leftovers.BROKER_USERS.fullmatch(f"{system.vhost}-harness")  # chaos's


def test_the_per_test_names_are_swept() -> None:
    for database in (
        f"test_template_stipends_{TEN}",  # tests/conftest.py
        f"test_notifications_{TEN}",
        f"test_roles_{TEN}",  # test_runtime_role.py
        f"bench_stipends_{TAG}",  # bench/_support.database
        f"bench_byhand_{TAG}",  # bench/gateway.py's save written by hand
    ):
        assert leftovers.DATABASES.fullmatch(database), database
    assert leftovers.ROLES.fullmatch(f"test_owner_{TEN}")
    assert leftovers.ROLES.fullmatch(f"test_owner_{TEN}_app")
    assert leftovers.VHOSTS.fullmatch("nameko_test_abcdefghij")  # nameko's plugin
    assert leftovers.VHOSTS.fullmatch(f"bench-{TAG}")  # bench/_support.vhost
    assert leftovers.BROKER_USERS.fullmatch(f"{TAG}-svyaz-stipends")  # compose test


def test_only_the_chaos_runs_and_benches_cluster_nodes_are_swept() -> None:
    for node in ("svyaz-chaos-1@localhost", "svyaz-bench-3@localhost"):
        assert leftovers.NODES.search(f"beam.smp -- -sname {node} -noinput"), node
    for node in ("svyaz-c1@localhost", "rabbit@localhost"):  # make cluster's, ours
        assert not leftovers.NODES.search(f"beam.smp -- -sname {node}"), node


def test_make_run_s_names_and_the_machine_s_own_are_never_swept() -> None:
    running = devstack.Settings()  # `make run`'s
    names = [
        "postgres",
        "template0",
        "template1",
        "root",
        "test",
        "guest",
        "/",
        running.vhost,
        "svyaz",
        f"test_{TAG}",  # no service word
        f"e2e_{TAG}_somethingelse",
    ]
    for service in devstack.WITH_DB:
        names += [
            running.db_name(service),
            running.db_role(service),
            running.db_runtime_role(service),
        ]
    for service in devstack.SERVICES + devstack.TOOLS:
        names.append(running.broker_user(service))
    for shape in (
        leftovers.DATABASES,
        leftovers.ROLES,
        leftovers.VHOSTS,
        leftovers.BROKER_USERS,
    ):
        swept = [n for n in names if shape.fullmatch(n)]
        assert swept == [], (shape.pattern, swept)


def test_the_report_says_what_went_and_why_nothing_did() -> None:
    assert "running" in leftovers.report(None)
    assert leftovers.report(leftovers.Found()) == "leftovers: none"
    listed = leftovers.report(
        leftovers.Found(databases=[f"e2e_{TAG}_stipends"]), dry_run=True
    )
    assert re.search(rf"would remove:\n  databases: e2e_{TAG}_stipends", listed)
