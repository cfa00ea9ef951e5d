"""ledger accounts per currency, and what a reconciliation decides reaching the
ledger (reconciliation_figures: the provider's figure per currency;
reconciliation_entries: the entries its write-offs posted). Accounts per currency: a provider's clearing account and a communicator's
payable account carry the ISO 4217 code (`provider_clearing:X:EUR`), since a provider
pays in many currencies and a communicator may be paid by programmes in several; the
balance of each account of before moves to its per-currency account with one entry
(`account_moved`), so no entry is changed
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"

LEGACY = (
    "kind IN ('provider_clearing', 'stipends_payable') "
    "AND code NOT LIKE '%:%:%'"  # kind:owner, without a currency
)


def upgrade() -> None:
    op.create_table(
        "reconciliation_figures",
        sa.Column(
            "reconciliation_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("reconciliations.id"),
            primary_key=True,
        ),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("provider_minor", sa.BigInteger(), nullable=False),
        sa.Column("outside_minor", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "reconciliation_entries",
        sa.Column(
            "entry_id",
            sa.BigInteger(),
            sa.ForeignKey("journal_entries.id"),
            primary_key=True,
        ),
        sa.Column(
            "reconciliation_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("reconciliations.id"),
            nullable=False,
        ),
        sa.Column(
            "item_id",
            sa.BigInteger(),
            sa.ForeignKey("reconciliation_items.id"),
            nullable=False,
        ),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("difference_minor", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_reconciliation_entries_reconciliation_id",
        "reconciliation_entries",
        ["reconciliation_id"],
    )
    op.execute(
        "INSERT INTO ledger_accounts (code, kind, currency) "
        "SELECT code || ':' || currency, kind, currency FROM ledger_accounts "
        f"WHERE {LEGACY} ON CONFLICT (code) DO NOTHING"
    )
    op.execute(
        f"""
        WITH old AS (
            SELECT a.code, a.currency, sum(p.amount_minor) AS balance
            FROM ledger_accounts a JOIN postings p ON p.account = a.code
            WHERE a.{LEGACY.replace("AND code", "AND a.code")}
            GROUP BY a.code, a.currency
            HAVING sum(p.amount_minor) <> 0
        ), entries AS (
            INSERT INTO journal_entries (kind, memo)
            SELECT 'account_moved', 'balance moved to ' || code || ':' || currency
            FROM old
            RETURNING id, memo
        )
        INSERT INTO postings (entry_id, account, amount_minor, currency)
        SELECT e.id, leg.account, leg.amount, o.currency
        FROM old o
        JOIN entries e ON e.memo = 'balance moved to ' || o.code || ':' || o.currency
        CROSS JOIN LATERAL (
            VALUES (o.code || ':' || o.currency, o.balance), (o.code, -o.balance)
        ) AS leg (account, amount)
        """
    )


def downgrade() -> None:
    # entries are never removed: the moves stay, and the code of before reads the
    # per-currency accounts as accounts of their own
    op.drop_table("reconciliation_entries")
    op.drop_table("reconciliation_figures")
