"""programmes, cycles, activity reports, entitlements, stipends and approvals, and the
double-entry ledger (insert-only, every entry balanced)
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"

REFUSE_CHANGE = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is insert-only: correct it with a reversal', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""

CHECK_BALANCED = """
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger AS $$
DECLARE
  unbalanced text;
BEGIN
  SELECT currency INTO unbalanced FROM postings WHERE entry_id = NEW.entry_id
   GROUP BY currency HAVING sum(amount_minor) <> 0 LIMIT 1;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % does not balance in %', NEW.entry_id, unbalanced;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def uuid_col(name: str, *args, **kw) -> sa.Column:
    return sa.Column(name, postgresql.UUID(as_uuid=True), *args, **kw)


def now_col(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def version_col() -> sa.Column:
    return sa.Column("version", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "programmes",
        uuid_col("id", primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("budget_minor", sa.BigInteger(), nullable=False),
        sa.Column("tier_amounts", postgresql.JSONB(), nullable=False),
        sa.Column("min_accepted_reports", sa.Integer(), nullable=False),
        sa.Column("min_conversations", sa.Integer(), nullable=False),
        sa.Column("training_required", sa.Boolean(), nullable=False),
        sa.Column("approval_bands", postgresql.JSONB(), nullable=False),
        uuid_col("created_by", nullable=False),
        now_col("created_at"),
        version_col(),
    )
    op.create_table(
        "cycles",
        uuid_col("id", primary_key=True),
        uuid_col("programme_id", sa.ForeignKey("programmes.id"), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        uuid_col("closed_by"),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("locked_at", sa.DateTime(timezone=True)),
        version_col(),
        sa.UniqueConstraint("programme_id", "period"),
        sa.CheckConstraint(
            "status IN ('open', 'closed', 'locked')", name="cycles_status"
        ),
    )
    op.create_table(
        "activity_reports",
        uuid_col("id", primary_key=True),
        uuid_col("cycle_id", sa.ForeignKey("cycles.id"), nullable=False),
        uuid_col("communicator_id", sa.ForeignKey("communicators.id"), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("audiences", postgresql.JSONB(), nullable=False),
        sa.Column("channels", postgresql.JSONB(), nullable=False),
        sa.Column("topics", postgresql.JSONB(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("observed_change", sa.String(10), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("redactions", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        uuid_col("reviewed_by"),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("review_comment", sa.Text()),
        now_col("created_at"),
        now_col("updated_at"),
        version_col(),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'accepted', 'rejected', "
            "'changes_requested')",
            name="activity_reports_status",
        ),
        sa.CheckConstraint(
            "conversations >= 0 AND hours >= 0", name="activity_reports_counts"
        ),
    )
    op.create_index(
        "activity_reports_cycle", "activity_reports", ["cycle_id", "communicator_id"]
    )
    op.create_table(
        "stipends",
        uuid_col("id", primary_key=True),
        uuid_col("programme_id", sa.ForeignKey("programmes.id"), nullable=False),
        uuid_col("cycle_id", sa.ForeignKey("cycles.id"), nullable=False),
        uuid_col("communicator_id", sa.ForeignKey("communicators.id"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reasons", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        uuid_col("proposed_by", nullable=False),
        sa.Column("approvals_needed", sa.Integer(), nullable=False),
        sa.Column("approvals_given", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("rejection_reason", sa.Text()),
        now_col("created_at"),
        version_col(),
        sa.UniqueConstraint("cycle_id", "communicator_id"),
        sa.CheckConstraint("amount_minor > 0", name="stipends_amount_positive"),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected')", name="stipends_status"
        ),
    )
    op.create_table(
        "entitlements",
        uuid_col("id", primary_key=True),
        uuid_col("cycle_id", sa.ForeignKey("cycles.id"), nullable=False),
        uuid_col("communicator_id", sa.ForeignKey("communicators.id"), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(), nullable=False),
        uuid_col("stipend_id"),
        sa.UniqueConstraint("cycle_id", "communicator_id"),
    )
    op.create_table(
        "approvals",
        uuid_col("id", primary_key=True),
        uuid_col("stipend_id", sa.ForeignKey("stipends.id"), nullable=False),
        uuid_col("approver_id", nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("bound_hash", sa.String(64), nullable=False),
        now_col("approved_at"),
        sa.Column("voided_at", sa.DateTime(timezone=True)),
        sa.Column("void_reason", sa.Text()),
    )
    op.create_index(
        "approvals_one_per_slot",
        "approvals",
        ["stipend_id", "slot"],
        unique=True,
        postgresql_where=sa.text("voided_at IS NULL"),
    )
    op.create_index(
        "approvals_one_slot_per_person",
        "approvals",
        ["stipend_id", "approver_id"],
        unique=True,
        postgresql_where=sa.text("voided_at IS NULL"),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("code", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        now_col("created_at"),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        uuid_col("stipend_id"),
        uuid_col("programme_id"),
        sa.Column(
            "reverses",
            sa.BigInteger(),
            sa.ForeignKey("journal_entries.id"),
            unique=True,
        ),
        uuid_col("actor_id"),
        now_col("posted_at"),
    )
    op.create_table(
        "postings",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "entry_id",
            sa.BigInteger(),
            sa.ForeignKey("journal_entries.id"),
            nullable=False,
        ),
        sa.Column(
            "account",
            sa.String(120),
            sa.ForeignKey("ledger_accounts.code"),
            nullable=False,
        ),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.CheckConstraint("amount_minor <> 0", name="postings_nonzero"),
    )
    op.create_index("ix_postings_entry_id", "postings", ["entry_id"])
    op.create_index("ix_postings_account", "postings", ["account"])
    op.execute(REFUSE_CHANGE)
    op.execute(CHECK_BALANCED)
    for table in ("journal_entries", "postings"):
        op.execute(
            f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
    op.execute(
        "CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION ledger_check_balanced()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS postings_balanced ON postings")
    for table in ("journal_entries", "postings"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_insert_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ledger_check_balanced()")
    op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    for table in (
        "postings",
        "journal_entries",
        "ledger_accounts",
        "approvals",
        "entitlements",
        "stipends",
        "activity_reports",
        "cycles",
        "programmes",
    ):
        op.drop_table(table)
