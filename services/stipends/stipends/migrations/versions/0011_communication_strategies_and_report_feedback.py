"""communication strategies (versioned, a shared version frozen by a trigger), their
discussion with a mentor, the report's reference to a strategy version, and the
feedback thread of a report
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"

# A shared version never changes, except that erasure blanks its free text.
FREEZE_SHARED = """
CREATE OR REPLACE FUNCTION strategy_versions_freeze_shared() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status = 'shared' THEN
      RAISE EXCEPTION 'a shared strategy version is kept';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status = 'shared' AND (
       NEW.status IS DISTINCT FROM OLD.status
    OR NEW.number IS DISTINCT FROM OLD.number
    OR NEW.strategy_id IS DISTINCT FROM OLD.strategy_id
    OR NEW.audiences IS DISTINCT FROM OLD.audiences
    OR NEW.channels IS DISTINCT FROM OLD.channels
    OR NEW.approaches IS DISTINCT FROM OLD.approaches
    OR NEW.horizon_months IS DISTINCT FROM OLD.horizon_months
    OR NEW.shared_at IS DISTINCT FROM OLD.shared_at
    OR (NEW.note IS DISTINCT FROM OLD.note AND NEW.note <> '')
    OR (NEW.expected_change IS DISTINCT FROM OLD.expected_change
        AND NEW.expected_change <> '')
    OR (NEW.topics IS DISTINCT FROM OLD.topics AND NEW.topics <> '[]'::jsonb)
  ) THEN
    RAISE EXCEPTION 'a shared strategy version never changes: revise it as a new one';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def uuid_col(name: str, *args, **kw) -> sa.Column:
    return sa.Column(name, postgresql.UUID(as_uuid=True), *args, **kw)


def now_col(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "strategies",
        uuid_col("id", primary_key=True),
        uuid_col(
            "communicator_id",
            sa.ForeignKey("communicators.id"),
            nullable=False,
            unique=True,
        ),
        now_col("created_at"),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "strategy_versions",
        uuid_col("id", primary_key=True),
        uuid_col("strategy_id", sa.ForeignKey("strategies.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("audiences", postgresql.JSONB(), nullable=False),
        sa.Column("channels", postgresql.JSONB(), nullable=False),
        sa.Column("topics", postgresql.JSONB(), nullable=False),
        sa.Column("approaches", postgresql.JSONB(), nullable=False),
        sa.Column("expected_change", sa.Text(), nullable=False),
        sa.Column("horizon_months", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("redactions", postgresql.JSONB(), nullable=False),
        now_col("created_at"),
        sa.Column("shared_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("strategy_id", "number"),
        sa.CheckConstraint("status IN ('draft', 'shared')", name="strategy_status"),
        sa.CheckConstraint(
            "horizon_months BETWEEN 1 AND 36", name="strategy_horizon_months"
        ),
    )
    # at most one draft per strategy
    op.create_index(
        "strategy_versions_one_draft",
        "strategy_versions",
        ["strategy_id"],
        unique=True,
        postgresql_where=sa.text("status = 'draft'"),
    )
    op.execute(FREEZE_SHARED)
    op.execute(
        "CREATE TRIGGER strategy_versions_freeze_shared BEFORE UPDATE OR DELETE "
        "ON strategy_versions FOR EACH ROW "
        "EXECUTE FUNCTION strategy_versions_freeze_shared()"
    )
    op.create_table(
        "strategy_comments",
        uuid_col("id", primary_key=True),
        uuid_col("strategy_id", sa.ForeignKey("strategies.id"), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        uuid_col("author_id", nullable=False),
        sa.Column("by_mentor", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        now_col("created_at"),
    )
    op.create_index(
        "strategy_comments_by_strategy", "strategy_comments", ["strategy_id"]
    )
    op.create_table(
        "report_feedback",
        uuid_col("id", primary_key=True),
        uuid_col("report_id", sa.ForeignKey("activity_reports.id"), nullable=False),
        uuid_col("author_id", nullable=False),
        sa.Column("by_mentor", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        now_col("created_at"),
    )
    op.create_index("report_feedback_by_report", "report_feedback", ["report_id"])
    op.add_column(
        "activity_reports",
        uuid_col("strategy_version_id", sa.ForeignKey("strategy_versions.id")),
    )
    op.add_column("activity_reports", sa.Column("strategy_progress", sa.String(20)))
    op.add_column("activity_reports", sa.Column("strategy_note", sa.Text()))


def downgrade() -> None:
    op.drop_column("activity_reports", "strategy_note")
    op.drop_column("activity_reports", "strategy_progress")
    op.drop_column("activity_reports", "strategy_version_id")
    op.drop_table("report_feedback")
    op.drop_table("strategy_comments")
    op.execute("DROP TRIGGER strategy_versions_freeze_shared ON strategy_versions")
    op.drop_table("strategy_versions")
    op.execute("DROP FUNCTION strategy_versions_freeze_shared()")
    op.drop_table("strategies")
