"""Staging a reconciliation's provider rows in bulk, in the database.

The rows go into `staged_rows`, a temporary table of this transaction, each with the
payout it names resolved as it arrives (our reference, else the provider's id on a
payout; a reversal by its transfer): classification joins on that and nothing else.
Its unique index on the provider's id, built once the rows are in, refuses a row
named twice.
`ProviderRow`s (pulled from a provider's API, or read from the bank's statement) go
by COPY through a spool, one row at a time; Stripe's itemized report goes by COPY as
it is into a second temporary table and is checked, converted and resolved in one
pass (`ItemizedReport`). Either way memory stays flat however long the period, and a
bad line refuses the whole import with the line named. Only the rows the work queue
needs are kept (`keep_for_items`), in `reconciliation_rows`.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, cast

import psycopg2
from sqlalchemy import CursorResult, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from stipends.exceptions import InvalidRequest
from stipends.payouts.bankfiles import BOM
from stipends.payouts.statements import ProviderRow
from svyaz import money
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


def _copy_lines(rows: Iterable[ProviderRow], counter: list[int]) -> Iterator[bytes]:
    for row in rows:
        if row.kind not in ("payment", "reversal"):
            raise InvalidRequest(
                f"row {row.provider_ref}: kind {row.kind!r}", "bad_row"
            )
        if row.amount_minor < 0:
            raise InvalidRequest(f"row {row.provider_ref}: negative amount", "bad_row")
        counter[0] += 1
        payout = _payout_id(row.reference)
        yield (
            ",".join(
                _cell(v)
                for v in (
                    row.provider_ref,
                    row.kind,
                    row.amount_minor,
                    row.currency.upper(),
                    payout,
                    row.parent_ref,
                    row.balance_minor,
                    row.status,
                    row.created.isoformat() if row.created else None,
                    "t" if payout else None,  # by_reference
                )
            )
            + "\n"
        ).encode()


# `by_reference`: the row named its payout by our reference (classification looks
# for payouts paid twice among those only); `settled`: a payment of a payout a
# signed-off reconciliation accounted for (`periods.mark_settled`)
STAGED = """
    CREATE TEMP TABLE staged_rows (
        line bigint, provider_ref text, kind text, amount_minor bigint,
        currency text, payout_id uuid, parent_ref text, balance_minor bigint,
        status text, created timestamptz, problem text, by_reference boolean,
        settled boolean
    ) ON COMMIT DROP
"""
# built once the rows are in (one sort: a third of the cost of growing the index
# row by row as they are written), it refuses an id named twice. Sorted byte by
# byte (the "C" collation: a third of the cost of the database's C.UTF-8, whose
# comparisons go through the locale), which names the same ids equal
STAGED_INDEX = 'CREATE UNIQUE INDEX ON staged_rows (provider_ref COLLATE "C")'
# rows the API gave without our reference: a reversal by its transfer (that row's
# reference, else the payout holding the transfer id), a payment by its own id
RESOLVE_REVERSALS = """
    UPDATE staged_rows r SET payout_id = coalesce(
        (SELECT t.payout_id FROM staged_rows t  -- by the unique index
         WHERE t.provider_ref = r.parent_ref COLLATE "C"),
        (SELECT p.id FROM payouts p WHERE p.provider_ref = r.parent_ref LIMIT 1))
    WHERE r.payout_id IS NULL AND r.kind = 'reversal' AND r.parent_ref IS NOT NULL
"""
RESOLVE_PAYMENTS = """
    UPDATE staged_rows r SET payout_id = p.id FROM payouts p
    WHERE r.payout_id IS NULL AND r.kind = 'payment'
      AND p.provider_ref = r.provider_ref
"""


def _create_staged(session: Session) -> None:
    plain_plans(session)
    session.execute(text(STAGED))


def _index_staged(session: Session, source: str) -> None:
    """The staged rows' unique index; an id named twice refuses them all."""
    try:
        session.execute(text(STAGED_INDEX))
    except IntegrityError as exc:
        raise _named_twice(exc.orig, source) from None


def _named_twice(exc: BaseException | None, source: str) -> InvalidRequest:
    """The unique index's refusal as the person's error: which id came twice."""
    detail = getattr(getattr(exc, "diag", None), "message_detail", None) or ""
    found = re.search(r"=\((.*)\) (?:already exists|is duplicated)", detail)
    ref = found.group(1) if found else "one id"
    return InvalidRequest(f"{source} {ref} twice", "duplicate_provider_row")


def stage(
    session: Session,
    reconciliation_id: uuid.UUID,
    rows: Iterable[ProviderRow] | ItemizedReport,
) -> int:
    """Stage the rows in `staged_rows`, each with its payout; returns how many. A
    provider id twice refuses them all."""
    if isinstance(rows, ItemizedReport):
        return rows.stage(session, reconciliation_id)
    counter = [0]
    _create_staged(session)
    copy_in(
        session,
        "COPY staged_rows (provider_ref, kind, amount_minor, currency, payout_id,"
        " parent_ref, balance_minor, status, created, by_reference)"
        " FROM STDIN WITH (FORMAT csv)",
        _copy_lines(rows, counter),
    )
    _index_staged(session, "the provider's rows name")
    session.execute(text(RESOLVE_REVERSALS))
    session.execute(text(RESOLVE_PAYMENTS))
    return counter[0]


def keep_for_items(session: Session, reconciliation_id: uuid.UUID) -> None:
    """Keep the staged rows the work queue will read (those its items name: `link`
    and `repay` look at their kind and status); the others go with the
    transaction."""
    session.execute(
        text(
            """
            INSERT INTO reconciliation_rows (reconciliation_id, provider_ref, kind,
                amount_minor, currency, payout_id, parent_ref, balance_minor, status,
                created)
            SELECT :rid, s.provider_ref, s.kind, s.amount_minor, s.currency,
                   s.payout_id, s.parent_ref, s.balance_minor, s.status, s.created
            FROM staged_rows s
            WHERE s.provider_ref IN (
                SELECT provider_ref FROM reconciliation_items
                WHERE reconciliation_id = :rid AND provider_ref IS NOT NULL)
            """
        ),
        {"rid": reconciliation_id},
    )


ITEMIZED_COLUMNS = frozenset(
    {"balance_transaction_id", "currency", "gross", "reporting_category", "source_id"}
)
REFERENCE_COLUMN = "transfer_metadata[payout_reference]"
COLUMN_NAME = re.compile(r"[A-Za-z0-9_\[\]]{1,80}")


UUID_TEXT = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _units(column: str) -> str:
    """Minor units per major unit (10 to the ISO 4217 exponent) of the currency in
    `column` (upper case), in SQL (svyaz.money): first one hashed look-up in every
    code whose exponent is not two, the factor named for those only (a CASE naming
    each code for every line cost five times as much)."""
    codes = money.not_two()
    whens = " ".join(f"WHEN '{iso}' THEN {10**places}" for iso, places in codes.items())
    listed = ", ".join(f"'{iso}'" for iso in codes)
    return (
        f"(CASE WHEN {column} IN ({listed}) THEN CASE {column} {whens} END "
        "ELSE 100 END)"
    )


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_MINOR = 10**15  # far beyond any payout; within bigint with room to spare
# a time of the report: 2026-11-24 10:00:00, or with a T
TIME_SHAPES = ("____-__-__ __:__:__", "____-__-__T__:__:__")
# the careful reading of a time: NULL for one the database cannot read (a
# subtransaction per line, so only for a report the quick reading failed on)
CAREFUL_TIME = """
    CREATE OR REPLACE FUNCTION pg_temp.svyaz_report_time(value text)
    RETURNS timestamp LANGUAGE plpgsql STABLE AS $$
    BEGIN
        RETURN value::timestamp;
    EXCEPTION WHEN data_exception THEN
        RETURN NULL;
    END $$
"""


def _currency_check() -> str:
    """A currency is three letters: a known ISO 4217 code by one hashed look-up,
    any other by its letters (a translation costs three look-ups)."""
    listed = ", ".join(f"'{iso}'" for iso in money.known())
    return (
        f"WHEN cur NOT IN ({listed}) AND (length(cur) <> 3 "
        f"OR translate(cur, '{LETTERS}', '') <> '') "
        "THEN 'currency ' || coalesce(currency, '')"
    )


def _itemized_insert(reference: str, has_created: bool, careful: bool) -> str:
    """One pass over the report: each transfer line checked (what is wrong with it,
    if anything, in `problem`), converted with its currency's ISO 4217 exponent
    (a report line with more decimals than that is refused) and given its payout
    (our reference, else the payout that holds the transfer id).

    The amount arrives a number (COPY read it: `_column_type`), and is multiplied by
    its currency's minor units once: a fraction left means more decimals than the
    currency has. A time must have the report's shape (LIKE) and read back as
    written (so nothing but digits where digits go, and a real date): it is read
    as the database reads a time, which refuses a month 13 with an error; `careful`
    reads each with `CAREFUL_TIME` instead, to name the line (`stage`)."""
    shape = " OR ".join(f"created_utc LIKE '{s}'" for s in TIME_SHAPES)
    read = (
        "pg_temp.svyaz_report_time(created_utc)"
        if careful
        else "created_utc::timestamp"
    )
    parsed = (
        f"CASE WHEN {shape} THEN {read} END AS parsed"
        if has_created
        else "NULL::timestamp AS parsed"
    )
    created_check = (
        "WHEN coalesce(created_utc, '') <> '' AND (parsed IS NULL "
        "OR parsed::text <> replace(created_utc, 'T', ' ')) "
        "THEN 'created_utc ' || created_utc"
        if has_created
        else ""
    )
    raw_created = "created_utc" if has_created else "NULL::text AS created_utc"
    reference_check = (
        f"WHEN reference !~ '^(payout[:]{UUID_TEXT})?$' THEN 'payout reference'"
        if reference != "''"
        else ""
    )
    return f"""
        INSERT INTO staged_rows (line, provider_ref, kind, amount_minor, currency,
            payout_id, balance_minor, status, created, problem, by_reference)
        SELECT c.line, c.source_id,
               CASE c.reporting_category WHEN 'transfer' THEN 'payment'
                    ELSE 'reversal' END,
               abs(c.minor), c.cur,
               CASE WHEN c.reference <> '' THEN substr(c.reference, 8)::uuid
                    ELSE p.id END,
               c.minor, 'posted', c.created, c.problem, c.reference <> ''
        FROM (
            SELECT line, reporting_category, cur, problem, reference,
                   CASE WHEN problem IS NULL THEN source_id END AS source_id,
                   CASE WHEN problem IS NULL THEN exact::bigint END AS minor,
                   CASE WHEN problem IS NULL THEN parsed AT TIME ZONE 'UTC'
                   END AS created
            FROM (
                SELECT line, source_id, reporting_category, exact, cur, parsed,
                       reference, CASE
                    WHEN coalesce(source_id, '') = '' OR length(source_id) > 80
                      THEN 'source_id'
                    {_currency_check()}
                    WHEN gross IS NULL THEN 'no amount'
                    WHEN NOT abs(exact) < {MAX_MINOR}
                      THEN 'amount ' || gross || ': out of range'
                    WHEN exact <> trunc(exact)
                      THEN 'amount ' || gross || ': more decimals than ' || cur
                           || ' has'
                    WHEN exact <> 0 AND (exact > 0) = (reporting_category = 'transfer')
                      THEN 'amount ' || gross || ': a ' || reporting_category
                           || CASE reporting_category WHEN 'transfer'
                                THEN ' is money out of the balance, negative'
                                ELSE ' is money back into the balance, positive'
                              END
                           || '; is this Stripe''s itemized balance change report'
                           || ' as it was downloaded?'
                    {created_check}
                    {reference_check}
                END AS problem
                FROM (
                    SELECT line, source_id, reporting_category, currency, gross,
                           coalesce(upper(currency), '') AS cur,
                           gross * {_units("coalesce(upper(currency), '')")}
                             AS exact,
                           {raw_created}, {parsed}, {reference} AS reference
                    FROM itemized_raw
                    WHERE reporting_category IN ('transfer', 'transfer_reversal')
                    OFFSET 0  -- each cell read once
                ) cells
                OFFSET 0  -- each line checked once, not once per use of `problem`
            ) checked
            OFFSET 0  -- each amount converted once
        ) c
        LEFT JOIN payouts p
          ON c.reporting_category = 'transfer' AND c.reference = ''
         AND p.provider_ref = c.source_id
    """


FIRST_PROBLEM = text(
    "SELECT line, problem FROM staged_rows WHERE problem IS NOT NULL "
    "ORDER BY line LIMIT 1"
)


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
        self.read = getattr(lines, "read", None)  # a file: read by the block

    def _body(self) -> Iterator[bytes]:
        """The lines after the header, for COPY: a file's in blocks of 64 KiB (the
        database splits them into lines; half the Python time of going line by
        line), other lines one by one."""
        if self.read is None:
            return (line.encode() for line in self.lines)
        read = self.read
        return (block.encode() for block in iter(lambda: read(1 << 16), ""))

    def _columns(self) -> list[str]:
        header = next(self.lines, "").removeprefix(BOM)
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
                + ", ".join(f'"{c}" {_column_type(c)}' for c in columns)
                + ") ON COMMIT DROP"
            )
        )
        try:
            copy_in(
                session,
                f"COPY itemized_raw ({names}) FROM STDIN WITH (FORMAT csv)",
                self._body(),
            )
        except psycopg2.DataError as exc:
            raise _unreadable(exc) from None
        reference = (
            f"coalesce(\"{REFERENCE_COLUMN}\", '')"
            if REFERENCE_COLUMN in columns
            else "''"
        )
        quick_statistics(session, "itemized_raw")
        _create_staged(session)
        has_created = "created_utc" in columns
        session.execute(text("SET LOCAL DateStyle = 'ISO, YMD'"))  # read back as ISO
        try:
            with session.begin_nested():
                inserted = cast(
                    CursorResult[Any],
                    session.execute(
                        text(_itemized_insert(reference, has_created, careful=False))
                    ),
                )
        except DBAPIError as exc:  # a time no calendar has (a month 13): which?
            if not isinstance(exc.orig, psycopg2.DataError):
                raise
            session.execute(text(CAREFUL_TIME))
            inserted = cast(
                CursorResult[Any],
                session.execute(
                    text(_itemized_insert(reference, has_created, careful=True))
                ),
            )
            session.execute(text("DROP FUNCTION pg_temp.svyaz_report_time(text)"))
        _index_staged(session, "the report names")
        bad = session.execute(FIRST_PROBLEM).first()
        if bad is not None:
            raise InvalidRequest(
                f"report line {bad.line + 1}: {bad.problem}",
                "invalid_file",
                {"content": [f"line {bad.line + 1}: {bad.problem}"]},
            )
        return int(inserted.rowcount)


def _column_type(column: str) -> str:
    """The amount is read as a number by COPY itself (`_unreadable` names a line
    whose amount is not one). The other cells stay text, checked byte by byte
    (translate, a currency code upper-cased, a category compared): in the "C"
    collation, without the locale's machinery. The provider's id keeps the
    database's, as it is compared with our payouts' ids."""
    if column == "gross":
        return "numeric"
    return "text" if column == "source_id" else 'text COLLATE "C"'


def _unreadable(exc: psycopg2.DataError) -> InvalidRequest:
    """COPY's refusal of the report as the person's error: the line (COPY counts
    from the line after the header) and, when it was the amount, the amount."""
    context = getattr(exc.diag, "context", None) or str(exc)
    where = re.search(r"line (\d+)", context)
    if where is None:
        return InvalidRequest("not a CSV file of the report's columns", "invalid_file")
    line = int(where.group(1)) + 1
    amount = re.search(r'column gross: "(.*)"', context)
    if amount is None:
        problem = "not a CSV line of the report's columns"
    else:
        problem = f"amount {amount.group(1)}" if amount.group(1) else "no amount"
    return InvalidRequest(
        f"report line {line}: {problem}",
        "invalid_file",
        {"content": [f"line {line}: {problem}"]},
    )


def quick_statistics(session: Session, table: str) -> None:
    """Statistics for a table just filled (without them the planner guesses a few
    hundred rows and loops, row by row), from a small sample: enough to choose
    hash joins, in a few milliseconds."""
    session.execute(text("SET LOCAL default_statistics_target = 10"))
    session.execute(text(f"ANALYZE {table}"))
    session.execute(text("RESET default_statistics_target"))


def plain_plans(session: Session) -> None:
    """For this transaction: no JIT (compiling these one-off statements costs more
    than running them), and room for their sorts and hashes in memory."""
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))
