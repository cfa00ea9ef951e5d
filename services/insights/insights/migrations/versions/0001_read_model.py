"""the read model: facts kept per event, and the state rebuilt from them"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from svyaz.migrations import (
    create_bus_nonces_v2,
    create_parked_actions_v3,
    create_platform_tables_v1,
    drop_bus_nonces_v2,
    drop_parked_actions_v3,
    drop_platform_tables_v1,
)

revision = "0001"
down_revision = None

UUID = postgresql.UUID(as_uuid=True)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_platform_tables_v1(op)
    create_bus_nonces_v2(op)
    create_parked_actions_v3(op)
    op.create_table(
        "facts",
        sa.Column("event_id", UUID, primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
    )
    op.create_index("facts_in_order", "facts", ["occurred_at", "event_id"])
    op.create_table(
        "members",
        sa.Column("communicator_id", UUID, primary_key=True),
        sa.Column("club_id", sa.String(36), nullable=False),
        sa.Column("country", sa.String(7), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("tier_at", WHEN),
    )
    op.create_table(
        "cycles",
        sa.Column("cycle_id", UUID, primary_key=True),
        sa.Column("programme_id", UUID, nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
    )
    op.create_index("ix_cycles_programme_id", "cycles", ["programme_id"])
    op.create_table(
        "programmes",
        sa.Column("programme_id", UUID, primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("budget_minor", sa.BigInteger(), nullable=False),
        sa.Column("budget_at", WHEN, nullable=False),
    )
    op.create_table(
        "reports",
        sa.Column("report_id", UUID, primary_key=True),
        sa.Column("cycle_id", UUID, nullable=False),
        sa.Column("communicator_id", UUID, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("audiences", postgresql.JSONB(), nullable=False),
        sa.Column("channels", postgresql.JSONB(), nullable=False),
        sa.Column("topics_count", sa.Integer(), nullable=False),
        sa.Column("observed_change", sa.String(10)),
        sa.Column("changed_at", WHEN, nullable=False),
    )
    op.create_index("reports_by_cycle", "reports", ["cycle_id", "communicator_id"])
    op.create_table(
        "stipends",
        sa.Column("stipend_id", UUID, primary_key=True),
        sa.Column("cycle_id", UUID),
        sa.Column("communicator_id", UUID, nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("approved_at", WHEN),
        sa.Column("paid_at", WHEN),
        sa.Column("failed_reason", sa.String(40)),
    )
    op.create_index("ix_stipends_cycle_id", "stipends", ["cycle_id"])
    op.create_table(
        "training_completions",
        sa.Column("training_id", UUID, primary_key=True),
        sa.Column("communicator_id", UUID, primary_key=True),
        sa.Column("completed_at", WHEN, nullable=False),
    )
    op.create_table(
        "reconciliations",
        sa.Column("run_id", UUID, primary_key=True),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("discrepancies", sa.Integer(), nullable=False),
        sa.Column("by_kind", postgresql.JSONB(), nullable=False),
        sa.Column("completed_at", WHEN, nullable=False),
    )
    op.create_table(
        "differences",
        sa.Column("reconciliation_id", UUID, primary_key=True),
        sa.Column("by_kind", postgresql.JSONB(), nullable=False),
        sa.Column("opened_at", WHEN, nullable=False),
        sa.Column("superseded", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "differences_resolved",
        sa.Column("reconciliation_id", UUID, primary_key=True),
        sa.Column("item_id", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("resolved_at", WHEN, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "differences_resolved",
        "differences",
        "reconciliations",
        "training_completions",
        "stipends",
        "reports",
        "programmes",
        "cycles",
        "members",
        "facts",
    ):
        op.drop_table(table)
    drop_parked_actions_v3(op)
    drop_bus_nonces_v2(op)
    drop_platform_tables_v1(op)
