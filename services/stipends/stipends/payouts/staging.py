"""Staging a reconciliation's provider rows in bulk, in the database.

`ProviderRow`s (pulled from a provider's API, or read from the bank's statement) go
by COPY through a spool, one row at a time; Stripe's itemized report goes by COPY as
it is into a temporary table and is checked and converted there (`ItemizedReport`).
Either way memory stays flat however long the period, and a bad line refuses the
whole import with the line named.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg2
from sqlalchemy import text
from sqlalchemy.orm import Session

from stipends.exceptions import InvalidRequest
from stipends.payouts.reconcile import ProviderRow
from svyaz.db import copy_in


def _payout_id(reference: str | None) -> uuid.UUID | None:
    if not reference or not reference.startswith("payout:"):
        return None
    try:
        return uuid.UUID(reference.removeprefix("payout:"))
    except ValueError:
        return None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text_value = str(value)
    if any(c in text_value for c in ',"\n\r'):
        return '"' + text_value.replace('"', '""') + '"'
    return text_value


def _copy_lines(
    reconciliation_id: uuid.UUID, rows: Iterable[ProviderRow], counter: list[int]
) -> Iterator[bytes]:
    rid = str(reconciliation_id)
    for row in rows:
        if row.kind not in ("payment", "reversal"):
            raise InvalidRequest(
                f"row {row.provider_ref}: kind {row.kind!r}", "bad_row"
            )
        if row.amount_minor < 0:
            raise InvalidRequest(f"row {row.provider_ref}: negative amount", "bad_row")
        counter[0] += 1
        yield (
            ",".join(
                _cell(v)
                for v in (
                    rid,
                    row.provider_ref,
                    row.kind,
                    row.amount_minor,
                    row.currency.upper(),
                    _payout_id(row.reference),
                    row.parent_ref,
                    row.balance_minor,
                    row.status,
                    row.created.isoformat() if row.created else None,
                )
            )
            + "\n"
        ).encode()


def stage(
    session: Session,
    reconciliation_id: uuid.UUID,
    rows: Iterable[ProviderRow] | ItemizedReport,
) -> int:
    """COPY the rows in; returns how many. A provider id twice refuses them all."""
    if isinstance(rows, ItemizedReport):
        return rows.stage(session, reconciliation_id)
    counter = [0]
    try:
        copy_in(
            session,
            "COPY reconciliation_rows (reconciliation_id, provider_ref, kind, "
            "amount_minor, currency, payout_id, parent_ref, balance_minor, status, "
            "created) FROM STDIN WITH (FORMAT csv)",
            _copy_lines(reconciliation_id, rows, counter),
        )
    except psycopg2.IntegrityError:
        raise InvalidRequest(
            "the provider's rows name one id twice", "duplicate_provider_row"
        ) from None
    return counter[0]


ITEMIZED_COLUMNS = frozenset(
    {"balance_transaction_id", "currency", "gross", "reporting_category", "source_id"}
)
REFERENCE_COLUMN = "transfer_metadata[payout_reference]"
COLUMN_NAME = re.compile(r"[A-Za-z0-9_\[\]]{1,80}")
UUID_TEXT = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _itemized_check(reference: str, has_created: bool) -> str:
    """The report's first bad line and what is wrong with it, if any."""
    created = (
        "WHEN coalesce(created_utc, '') !~ "
        "'^([0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2})?$' "
        "THEN 'created_utc ' || created_utc"
        if has_created
        else ""
    )
    return f"""
        SELECT line, problem FROM (
            SELECT line, CASE
                WHEN coalesce(source_id, '') = '' OR length(source_id) > 80
                  THEN 'source_id'
                WHEN coalesce(currency, '') !~ '^[A-Za-z]{{3}}$'
                  THEN 'currency ' || coalesce(currency, '')
                WHEN coalesce(gross, '') !~ '^-?[0-9]+([.][0-9]{{1,2}})?$'
                  THEN 'amount ' || coalesce(gross, '')
                {created}
                WHEN {reference} !~ '^(payout[:]{UUID_TEXT})?$'
                  THEN 'payout reference'
            END AS problem
            FROM itemized_raw
            WHERE reporting_category IN ('transfer', 'transfer_reversal')
        ) checked
        WHERE problem IS NOT NULL ORDER BY line LIMIT 1
    """


class ItemizedReport:
    """Stripe's `balance_change_from_activity.itemized` report (CSV, amounts in major
    units), staged by the database: its lines go by COPY into a temporary table as
    they are, are checked there (the first bad line is named) and become rows:
    `transfer` rows are payments (gross is negative: money out), `transfer_reversal`
    rows reversals; other categories are not payouts and are skipped. The optional
    `transfer_metadata[payout_reference]` column carries our reference; without it
    a transfer is matched by its id."""

    def __init__(self, lines: Iterable[str]):
        self.lines = iter(lines)

    def _columns(self) -> list[str]:
        header = next(self.lines, "")
        columns = next(csv.reader([header]), [])
        columns = [c.strip() for c in columns]
        missing = ITEMIZED_COLUMNS - set(columns)
        if missing:
            raise InvalidRequest(
                f"the report lacks the columns {', '.join(sorted(missing))}",
                "invalid_file",
                {"content": ["not an itemized balance change report"]},
            )
        if len(set(columns)) != len(columns) or not all(
            COLUMN_NAME.fullmatch(c) for c in columns
        ):
            raise InvalidRequest(
                "the report's header is not one Stripe writes", "invalid_file"
            )
        return columns

    def stage(self, session: Session, reconciliation_id: uuid.UUID) -> int:
        columns = self._columns()
        plain_plans(session)
        names = ", ".join(f'"{c}"' for c in columns)
        session.execute(
            text(
                "CREATE TEMP TABLE itemized_raw (line bigserial, "
                + ", ".join(f'"{c}" text' for c in columns)
                + ") ON COMMIT DROP"
            )
        )
        try:
            copy_in(
                session,
                f"COPY itemized_raw ({names}) FROM STDIN WITH (FORMAT csv)",
                (line.encode() for line in self.lines),
            )
        except psycopg2.DataError as exc:
            where = re.search(r"line (\d+)", str(exc))
            line = f"report line {int(where.group(1)) + 1}: " if where else ""
            raise InvalidRequest(
                f"{line}not a CSV line of the report's columns", "invalid_file"
            ) from None
        reference = (
            f"coalesce(\"{REFERENCE_COLUMN}\", '')"
            if REFERENCE_COLUMN in columns
            else "''"
        )
        bad = session.execute(
            text(_itemized_check(reference, "created_utc" in columns))
        ).first()
        if bad is not None:
            raise InvalidRequest(
                f"report line {bad.line + 1}: {bad.problem}",
                "invalid_file",
                {"content": [f"line {bad.line + 1}: {bad.problem}"]},
            )
        twice = session.execute(
            text(
                "SELECT source_id FROM itemized_raw WHERE reporting_category IN "
                "('transfer', 'transfer_reversal') GROUP BY source_id "
                "HAVING count(*) > 1 LIMIT 1"
            )
        ).first()
        if twice is not None:
            raise InvalidRequest(
                f"the report names {twice.source_id} twice", "duplicate_provider_row"
            )
        created = (
            "nullif(created_utc, '')::timestamp AT TIME ZONE 'UTC'"
            if "created_utc" in columns
            else "NULL"
        )
        inserted = session.execute(
            text(
                f"""
                INSERT INTO reconciliation_rows (reconciliation_id, provider_ref, kind,
                    amount_minor, currency, payout_id, balance_minor, status, created)
                SELECT :rid, source_id,
                       CASE reporting_category WHEN 'transfer' THEN 'payment'
                            ELSE 'reversal' END,
                       abs(round(gross::numeric * 100))::bigint, upper(currency),
                       CASE WHEN {reference} <> ''
                            THEN substr({reference}, 8)::uuid END,
                       round(gross::numeric * 100)::bigint, 'posted', {created}
                FROM itemized_raw
                WHERE reporting_category IN ('transfer', 'transfer_reversal')
                """
            ),
            {"rid": reconciliation_id},
        )
        return int(inserted.rowcount)


def plain_plans(session: Session) -> None:
    """For this transaction: no JIT (compiling these one-off statements costs more
    than running them), and room for their sorts and hashes in memory."""
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))
