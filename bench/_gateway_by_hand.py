"""The report save written by hand, in one process: bench/gateway.py's like-for-like
baseline. What a careful programmer would write without the platform, doing the same
work for the same request:

- the session: its row found by the cookie's hash, idle and expiry checked, touched
  at most once a minute (as the gateway's `logic.current`), the CSRF token compared
  in constant time, the role checked;
- the body: size-capped, validated by the same schema (`ReportContentSchema`), the
  narrative and topics redacted by the same function (`redaction.redact`);
- the communicator and the cycle read (one statement), the report written with its
  idempotency record (the answer kept under a key, as `svyaz.commands` keeps it) in
  one committed transaction (`synchronous_commit` as the services have it);
- the answer: 201 with the saved report and what was redacted.

What it leaves out is the platform's own price: the split into a gateway and a
stipends service, the RPC over RabbitMQ, the signed and sealed messages, the
idempotency machinery's nonce.

    python bench/_gateway_by_hand.py <port> <database url>   # serves
    prepare(<database url>) -> (cookie, csrf token, cycle id)  # the bench's set-up
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.pool
from psycopg2.extras import Json

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCHEMA = """
CREATE TABLE sessions (
    token_hash text PRIMARY KEY, actor_id uuid NOT NULL, roles text[] NOT NULL,
    csrf text NOT NULL, expires_at timestamptz NOT NULL, last_seen timestamptz NOT NULL
);
CREATE TABLE communicators (id uuid PRIMARY KEY, status text NOT NULL);
CREATE TABLE cycles (
    id uuid PRIMARY KEY, status text NOT NULL, deadline timestamptz NOT NULL
);
CREATE TABLE reports (
    id uuid PRIMARY KEY, cycle_id uuid NOT NULL REFERENCES cycles,
    communicator_id uuid NOT NULL REFERENCES communicators, status text NOT NULL,
    conversations int NOT NULL, audiences text[] NOT NULL, channels text[] NOT NULL,
    topics text[] NOT NULL, hours int NOT NULL, observed_change text NOT NULL,
    narrative text NOT NULL, redactions text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE command_results (
    key text PRIMARY KEY, actor_id uuid NOT NULL, answer jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""
COOKIE = "session"
IDLE = timedelta(minutes=30)
TOUCH_EVERY = timedelta(seconds=60)
MAX_BODY = 64 * 1024


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def prepare(url: str) -> tuple[str, str, str]:
    """The tables, one active communicator signed in and one open cycle."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    person, cycle = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(SCHEMA)
        cur.execute(
            "INSERT INTO sessions VALUES (%s, %s, %s, %s, %s, %s)",
            (_hash(token), str(person), ["communicator"], csrf, now + IDLE * 24, now),
        )
        cur.execute("INSERT INTO communicators VALUES (%s, 'active')", (str(person),))
        cur.execute(
            "INSERT INTO cycles VALUES (%s, 'open', %s)",
            (str(cycle), now + timedelta(days=10)),
        )
    conn.close()
    return token, csrf, str(cycle)


def serve(port: int, url: str) -> None:
    from marshmallow import ValidationError
    from werkzeug.exceptions import HTTPException
    from werkzeug.serving import run_simple
    from werkzeug.wrappers import Request, Response

    from stipends.logic.redaction import redact
    from stipends.schemas import ReportContentSchema

    schema = ReportContentSchema()
    pool = psycopg2.pool.ThreadedConnectionPool(1, 8, url)

    def refuse(status: int, message: str) -> Response:
        return Response(
            json.dumps({"error": message}), status=status, mimetype="application/json"
        )

    def save(request: Request, conn: Any, cycle_id: str) -> Response:
        now = datetime.now(UTC)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT actor_id, roles, csrf, expires_at, last_seen FROM sessions "
                "WHERE token_hash = %s",
                (_hash(request.cookies.get(COOKIE, "")),),
            )
            row = cur.fetchone()
            if row is None or row[3] <= now or row[4] + IDLE <= now:
                return refuse(401, "sign in")
            actor, roles, csrf, _, last_seen = row
            submitted = request.headers.get("X-CSRF-Token", "")
            if not hmac.compare_digest(csrf.encode(), submitted.encode()):
                return refuse(403, "reload the page")
            if "communicator" not in roles:
                return refuse(403, "not yours")
            if now - last_seen >= TOUCH_EVERY:
                cur.execute(
                    "UPDATE sessions SET last_seen = %s WHERE token_hash = %s",
                    (now, _hash(request.cookies[COOKIE])),
                )
            try:
                content = schema.load(json.loads(request.get_data()))
            except (ValueError, ValidationError) as exc:
                conn.rollback()
                return refuse(400, str(exc))
            cur.execute(
                "SELECT c.status, y.status, y.deadline FROM communicators c, cycles y "
                "WHERE c.id = %s AND y.id = %s",
                (actor, cycle_id),
            )
            found = cur.fetchone()
            if found is None or found[0] != "active" or found[1] != "open":
                conn.rollback()
                return refuse(409, "this cycle takes no reports")
            narrative = redact(content["narrative"])
            topics = [redact(t) for t in content["topics"]]
            kinds = sorted(set(narrative.kinds).union(*(t.kinds for t in topics)))
            report = {
                "id": str(uuid.uuid4()),
                "cycle_id": cycle_id,
                "communicator_id": str(actor),
                "status": "draft",
                "conversations": content["conversations"],
                "audiences": sorted(set(content["audiences"])),
                "channels": sorted(set(content["channels"])),
                "topics": [t.text for t in topics],
                "hours": content["hours"],
                "observed_change": content["observed_change"],
                "narrative": narrative.text,
                "redactions": kinds,
            }
            cur.execute(
                "INSERT INTO reports (id, cycle_id, communicator_id, status, "
                "conversations, audiences, channels, topics, hours, observed_change, "
                "narrative, redactions) VALUES (%(id)s, %(cycle_id)s, "
                "%(communicator_id)s, %(status)s, %(conversations)s, %(audiences)s, "
                "%(channels)s, %(topics)s, %(hours)s, %(observed_change)s, "
                "%(narrative)s, %(redactions)s)",
                report,
            )
            answer = {"report": report, "redacted": kinds}
            cur.execute(
                "INSERT INTO command_results (key, actor_id, answer) "
                "VALUES (%s, %s, %s)",
                (str(uuid.uuid4()), actor, Json(answer)),
            )
        conn.commit()
        return Response(json.dumps(answer), status=201, mimetype="application/json")

    @Request.application  # type: ignore[misc]
    def app(request: Request) -> Response:
        request.max_content_length = MAX_BODY
        parts = request.path.strip("/").split("/")
        if request.method != "POST" or len(parts) != 5 or parts[4] != "reports":
            return refuse(404, "no such page")
        try:
            cycle_id = str(uuid.UUID(parts[3]))
        except ValueError:
            return refuse(404, "no such cycle")
        conn = pool.getconn()
        try:
            return save(request, conn, cycle_id)
        except HTTPException as exc:  # the body too large
            conn.rollback()
            return refuse(exc.code or 400, exc.description or "refused")
        finally:
            pool.putconn(conn)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
