"""payout runs, payouts (a state machine per row), the operator audit trail and the
provider events already applied
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"

UUID = postgresql.UUID(as_uuid=True)
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "payout_runs",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("cycle_id", UUID, sa.ForeignKey("cycles.id"), nullable=False),
        sa.Column("programme_id", UUID, sa.ForeignKey("programmes.id"), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("totals", postgresql.JSONB, nullable=False),
        sa.Column("totals_digest", sa.String(64), nullable=False),
        sa.Column("created_by", UUID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW),
        sa.Column("released_by", UUID),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'released', 'cancelled')", name="payout_run_status"
        ),
    )
    op.create_table(
        "payouts",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("run_id", UUID, sa.ForeignKey("payout_runs.id"), nullable=False),
        sa.Column("stipend_id", UUID, sa.ForeignKey("stipends.id"), nullable=False),
        sa.Column("communicator_id", UUID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(80)),
        sa.Column("calling_since", sa.DateTime(timezone=True)),
        sa.Column("provider_ref", sa.String(80)),
        sa.Column("fee_minor", sa.BigInteger, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("deadline_at", sa.DateTime(timezone=True)),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("failure_code", sa.String(60)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW),
        sa.CheckConstraint("amount_minor > 0", name="payout_amount_positive"),
        sa.CheckConstraint(
            "status IN ('planned', 'queued', 'calling', 'sent', 'paid', 'failed', "
            "'cancelled')",
            name="payout_status",
        ),
        sa.CheckConstraint(
            "status <> 'calling' OR idempotency_key IS NOT NULL",
            name="payout_key_before_call",
        ),
    )
    op.create_index(
        "payouts_one_per_stipend",
        "payouts",
        ["stipend_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_index("payouts_due", "payouts", ["status", "next_attempt_at"])
    op.create_index("payouts_ref", "payouts", ["provider_ref"])
    op.create_index("payouts_run", "payouts", ["run_id"])
    op.create_table(
        "payout_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("run_id", UUID),
        sa.Column("payout_id", UUID),
        sa.Column("actor_id", UUID),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=NOW),
        sa.CheckConstraint("length(btrim(reason)) > 0", name="payout_audit_reason"),
    )
    op.create_index("payout_audit_payout", "payout_audit", ["payout_id"])
    op.create_table(
        "payout_provider_events",
        sa.Column("event_id", sa.String(80), primary_key=True),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("payout_id", UUID),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=NOW),
    )


def downgrade() -> None:
    op.drop_table("payout_provider_events")
    op.drop_table("payout_audit")
    op.drop_table("payouts")
    op.drop_table("payout_runs")
