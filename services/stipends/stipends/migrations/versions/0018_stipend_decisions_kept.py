"""who changed a stipend's amount and when (one row per amendment, insert-only; the
words stay in the stipend's reasons), and who rejected it: the trail names them"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.create_table(
        "stipend_amendments",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "stipend_id",
            UUID(as_uuid=True),
            sa.ForeignKey("stipends.id"),
            nullable=False,
        ),
        sa.Column("amended_by", UUID(as_uuid=True), nullable=False),
        sa.Column(
            "amended_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("amount_before_minor", sa.BigInteger, nullable=False),
        sa.Column("amount_after_minor", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "stipend_amendments_by_stipend", "stipend_amendments", ["stipend_id"]
    )
    op.execute(  # as the ledger (migration 0003)
        "CREATE TRIGGER stipend_amendments_insert_only BEFORE UPDATE OR DELETE ON "
        "stipend_amendments FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
    )
    op.add_column("stipends", sa.Column("rejected_by", UUID(as_uuid=True)))


def downgrade() -> None:
    op.drop_column("stipends", "rejected_by")
    op.drop_table("stipend_amendments")
