"""erasure: the list of erased ids, Stripe accounts to close, and the one change the
insert-only vetting_decisions allows (an erased person's reason becomes the marker)
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0011"
down_revision = "0010"

# vetting_decisions stays insert-only but for this: the reason of a decision about a
# person already erased becomes "[erased]" (a tier change keeps "tier <tier>: "),
# and nothing else of the row changes
ERASABLE = """
CREATE OR REPLACE FUNCTION vetting_decisions_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.id = OLD.id
     AND NEW.communicator_id = OLD.communicator_id
     AND NEW.actor_id = OLD.actor_id
     AND NEW.from_status = OLD.from_status
     AND NEW.to_status = OLD.to_status
     AND NEW.at = OLD.at
     AND (NEW.reason = '[erased]'
          OR (OLD.reason LIKE 'tier %'
              AND NEW.reason = split_part(OLD.reason, ':', 1) || ': [erased]'))
     AND EXISTS (SELECT 1 FROM communicators c
                 WHERE c.id = OLD.communicator_id AND c.erased_at IS NOT NULL)
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% is insert-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("communicator_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("journaled_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "erasures_unjournaled",
        "erasures",
        ["communicator_id"],
        postgresql_where=sa.text("journaled_at IS NULL"),
    )
    # every erasure made before this revision is on the list too
    op.execute(
        "INSERT INTO erasures (communicator_id, erased_at) "
        "SELECT id, erased_at FROM communicators WHERE erased_at IS NOT NULL"
    )
    op.create_table(
        "stripe_closures",
        sa.Column("communicator_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("wrapped_key", sa.Text()),
        sa.Column("account_ct", sa.Text()),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
    )
    op.execute(ERASABLE)
    op.execute(
        "DROP TRIGGER IF EXISTS vetting_decisions_insert_only ON vetting_decisions"
    )
    op.execute(
        "CREATE TRIGGER vetting_decisions_insert_only BEFORE UPDATE OR DELETE ON "
        "vetting_decisions FOR EACH ROW EXECUTE FUNCTION vetting_decisions_guard()"
    )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS vetting_decisions_insert_only ON vetting_decisions"
    )
    op.execute(
        "CREATE TRIGGER vetting_decisions_insert_only BEFORE UPDATE OR DELETE ON "
        "vetting_decisions FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    op.execute("DROP FUNCTION IF EXISTS vetting_decisions_guard()")
    op.drop_table("stripe_closures")
    op.drop_index("erasures_unjournaled", table_name="erasures")
    op.drop_table("erasures")
