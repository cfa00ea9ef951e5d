"""idempotent fundings (a client-chosen key per funding), communicators' answers
about receipt of a paid payout (with finance's resolution of a "not received"), and
an index for reading a page of stipends' approvals at once
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"

UUID = postgresql.UUID(as_uuid=True)
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "programme_fundings",
        sa.Column("idempotency_key", sa.String(64), primary_key=True),
        sa.Column("programme_id", UUID, sa.ForeignKey("programmes.id"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column(
            "entry_id",
            sa.BigInteger,
            sa.ForeignKey("journal_entries.id"),
            nullable=False,
        ),
        sa.Column("actor_id", UUID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW),
        sa.CheckConstraint("amount_minor > 0", name="programme_funding_positive"),
        sa.CheckConstraint(
            "length(idempotency_key) BETWEEN 8 AND 64",
            name="programme_funding_key_length",
        ),
    )
    op.create_table(
        "payout_receipts",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "payout_id", UUID, sa.ForeignKey("payouts.id"), nullable=False, unique=True
        ),
        sa.Column("communicator_id", UUID, nullable=False),
        sa.Column("received", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("problem_status", sa.String(12)),
        sa.Column("problem_opened_at", sa.DateTime(timezone=True)),
        sa.Column("resolution", sa.String(40)),
        sa.Column("resolution_note", sa.Text),
        sa.Column("resolved_by", UUID),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "problem_status IN ('open', 'resolved', 'withdrawn')",
            name="payout_receipt_problem_status",
        ),
    )
    op.create_index(
        "payout_receipts_queue",
        "payout_receipts",
        ["problem_status", "problem_opened_at"],
    )
    op.create_index("approvals_by_stipend", "approvals", ["stipend_id"])


def downgrade() -> None:
    op.drop_index("approvals_by_stipend", table_name="approvals")
    op.drop_index("payout_receipts_queue", table_name="payout_receipts")
    op.drop_table("payout_receipts")
    op.drop_table("programme_fundings")
