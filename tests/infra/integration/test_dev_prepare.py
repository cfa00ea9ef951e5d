"""`make run`'s preparation (infra/dev/stack.py) is idempotent and least privilege:
run twice, and over databases made before each service had its own role (owned by
postgres, migrated as postgres), it leaves each database owned by its service's role,
which migrates it, and which alone may connect to it."""

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import requests

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402

API = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[devstack.Settings]:
    tag = uuid.uuid4().hex[:8]
    made = devstack.Settings(
        db_prefix=f"prep_{tag}", vhost=f"svyaz-prep-{tag}", var=tmp_path
    )
    requests.put(f"{API}/vhosts/{made.vhost}", auth=AUTH, timeout=30).raise_for_status()
    requests.put(
        f"{API}/permissions/{made.vhost}/guest",
        auth=AUTH,
        timeout=30,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    yield made
    devstack.drop_databases(made)
    devstack.drop_broker_users(made)
    requests.delete(f"{API}/vhosts/{made.vhost}", auth=AUTH, timeout=30)


def admin() -> psycopg2.extensions.connection:
    conn = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    conn.autocommit = True
    return conn


def test_preparing_twice_over_old_databases_hands_them_to_their_roles(
    settings: devstack.Settings,
) -> None:
    # the databases as they were before: made and migrated by postgres
    conn = admin()
    with conn.cursor() as cur:
        for service in ("registry", "stipends"):
            cur.execute(f'CREATE DATABASE "{settings.db_name(service)}"')
    conn.close()
    for service in ("registry", "stipends"):
        as_postgres = "postgresql+psycopg2://postgres@127.0.0.1:5432/"
        devstack.subprocess.run(
            [str(devstack.BIN / "alembic"), "upgrade", "head"],
            env={
                **settings.env(service),
                "DB_URI": as_postgres + settings.db_name(service),
            },
            check=True,
            cwd=ROOT / "services" / service,
        )

    for _ in range(2):
        devstack.create_databases(settings)
        devstack.migrate(settings)  # as each database's own role
        devstack.load_topology(settings)
        devstack.create_broker_users(settings)

    conn = admin()
    with conn.cursor() as cur:
        for service in devstack.WITH_DB:
            name, role = settings.db_name(service), settings.db_role(service)
            cur.execute(
                "SELECT pg_get_userbyid(datdba), has_database_privilege("
                "'public', datname, 'CONNECT') FROM pg_database WHERE datname = %s",
                (name,),
            )
            assert cur.fetchone() == (role, False), service
            for login in (role, settings.db_runtime_role(service)):
                cur.execute(
                    "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
                    "WHERE rolname = %s",
                    (login,),
                )
                assert cur.fetchone() == (False, False, False), login
    conn.close()
    # every table, sequence and function of an old database is its role's now
    inside = psycopg2.connect(
        f"postgresql://postgres@127.0.0.1:5432/{settings.db_name('stipends')}"
    )
    with inside.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
            "AND c.relkind IN ('r', 'S', 'v') AND pg_get_userbyid(c.relowner) <> %s",
            (settings.db_role("stipends"),),
        )
        assert cur.fetchall() == []
        cur.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
            "AND pg_get_userbyid(p.proowner) <> %s",
            (settings.db_role("stipends"),),
        )
        assert cur.fetchall() == []
    inside.close()
    # the passwords were made once, readable by their owner alone
    files = sorted(settings.credentials.iterdir())
    assert {f.name for f in files} >= {"registry.db", "registry.broker"}
    assert all(f.stat().st_mode & 0o077 == 0 for f in files)
    users = requests.get(f"{API}/users", auth=AUTH, timeout=30).json()
    names = {u["name"] for u in users}
    assert {settings.broker_user(s) for s in devstack.SERVICES} <= names


def test_docker_compose_s_init_script_makes_owning_roles_and_runs_twice() -> None:
    """infra/postgres/init.sql (docker-compose's first start), run here with its
    names made unique, twice: each database is owned by its own login role and no
    other role may connect."""
    import shutil
    import subprocess

    psql = shutil.which("psql")
    assert psql, "psql is not installed (Debian: postgresql-client)"
    prefix = f"init{uuid.uuid4().hex[:6]}_"
    script = (ROOT / "infra/postgres/init.sql").read_text().replace("svyaz_", prefix)
    # the maintenance databases are this machine's, shared: left as they are here
    script = script.replace("REVOKE CONNECT ON DATABASE postgres", "-- ")
    services = ("registry", "stipends", "notifications", "gateway", "insights")
    try:
        for _ in range(2):
            subprocess.run(
                [psql, "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
                + ["-q", "-d", "postgres"],
                input=script,
                text=True,
                check=True,
                capture_output=True,
                timeout=60,
            )
        conn = admin()
        with conn.cursor() as cur:
            cur.execute(
                "SELECT datname, pg_get_userbyid(datdba), has_database_privilege("
                "'public', datname, 'CONNECT') FROM pg_database WHERE datname LIKE %s",
                (prefix + "%",),
            )
            assert sorted(cur.fetchall()) == sorted(
                (prefix + s, prefix + s, False) for s in services
            )
            cur.execute(  # and each service's runtime role beside its owner
                "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles "
                "WHERE rolname LIKE %s ORDER BY 1",
                (prefix + "%",),
            )
            assert cur.fetchall() == sorted(
                (prefix + s + suffix, False, True)
                for s in services
                for suffix in ("", "_app")
            )
        conn.close()
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            psycopg2.connect(
                f"postgresql://{prefix}stipends@127.0.0.1:5432/{prefix}registry"
            )
    finally:
        conn = admin()
        with conn.cursor() as cur:
            for service in services:
                cur.execute(f'DROP DATABASE IF EXISTS "{prefix}{service}"')
                cur.execute(f'DROP ROLE IF EXISTS "{prefix}{service}"')
                cur.execute(f'DROP ROLE IF EXISTS "{prefix}{service}_app"')
        conn.close()
