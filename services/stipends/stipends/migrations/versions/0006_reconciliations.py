"""reconciliations by provider and period: the provider's rows as staged, the
differences as a work queue, the sign-off; indexes for finding a period's sends
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"

UUID = postgresql.UUID(as_uuid=True)
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "reconciliations",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("provider_rows", sa.Integer, nullable=False),
        sa.Column("matched", sa.Integer, nullable=False),
        sa.Column("discrepancies", sa.Integer, nullable=False),
        sa.Column("created_by", UUID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW),
        sa.Column("signed_off_by", UUID),
        sa.Column("signed_off_at", sa.DateTime(timezone=True)),
        sa.Column("sign_off_note", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'signed_off', 'superseded')",
            name="reconciliation_status",
        ),
        sa.CheckConstraint(
            "source IN ('api', 'itemized_csv', 'bank_statement')",
            name="reconciliation_source",
        ),
        sa.CheckConstraint("period_start < period_end", name="reconciliation_period"),
    )
    op.create_index(
        "reconciliations_one_live",
        "reconciliations",
        ["provider", "period_start", "period_end"],
        unique=True,
        postgresql_where=sa.text("status <> 'superseded'"),
    )
    op.create_table(  # staging: written once, by COPY or INSERT ... SELECT, so no
        # foreign key checked row by row; the id is the reconciliation's being made
        "reconciliation_rows",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("reconciliation_id", UUID, nullable=False),
        sa.Column("provider_ref", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payout_id", UUID),
        sa.Column("parent_ref", sa.String(80)),
        sa.Column("balance_minor", sa.BigInteger),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "kind IN ('payment', 'reversal')", name="reconciliation_row_kind"
        ),
        sa.CheckConstraint("amount_minor >= 0", name="reconciliation_row_amount"),
    )
    op.create_index(
        "reconciliation_rows_ref",
        "reconciliation_rows",
        ["reconciliation_id", "provider_ref"],
        unique=True,
    )
    op.create_table(
        "reconciliation_items",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "reconciliation_id",
            UUID,
            sa.ForeignKey("reconciliations.id"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("payout_id", UUID),
        sa.Column("run_id", UUID),
        sa.Column("provider_ref", sa.String(80)),
        sa.Column("ours_minor", sa.BigInteger),
        sa.Column("theirs_minor", sa.BigInteger),
        sa.Column("ours_currency", sa.String(3)),
        sa.Column("theirs_currency", sa.String(3)),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("resolution", sa.Text),
        sa.Column("linked_payout_id", UUID),
        sa.Column("resolved_by", UUID),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "state IN ('open', 'linked', 'written_off', 'repaid')",
            name="reconciliation_item_state",
        ),
        sa.CheckConstraint(
            "state = 'open' OR (resolution IS NOT NULL AND resolved_by IS NOT NULL)",
            name="reconciliation_item_resolved_with_reason",
        ),
    )
    op.create_index(
        "reconciliation_items_queue",
        "reconciliation_items",
        ["reconciliation_id", "state", "id"],
    )
    op.create_index(
        "journal_entries_kind_posted", "journal_entries", ["kind", "posted_at"]
    )
    op.create_index("journal_entries_stipend", "journal_entries", ["stipend_id"])


def downgrade() -> None:
    op.drop_index("journal_entries_stipend", "journal_entries")
    op.drop_index("journal_entries_kind_posted", "journal_entries")
    for table in ("reconciliation_items", "reconciliation_rows", "reconciliations"):
        op.drop_table(table)
