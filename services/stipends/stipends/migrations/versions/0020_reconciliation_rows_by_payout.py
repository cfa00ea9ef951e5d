"""reconciliation_rows by payout: a later reconciliation asks whether a signed-off
one accounted for a payout its rows book (`periods.mark_settled`)"""

from alembic import op

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    op.create_index(
        "reconciliation_rows_payout",
        "reconciliation_rows",
        ["payout_id"],
        postgresql_where="payout_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("reconciliation_rows_payout", "reconciliation_rows")
