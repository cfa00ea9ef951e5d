"""what the provider did with a payout's money, from its own data: the amount it
debited in the payout's currency (`sent_minor`: with any FX fee), the amount the
payee's account was credited in its currency (`received_minor`,
`received_currency`) and the rate (units of that currency per unit of the payout's);
nullable, set when the provider confirms a payout (a Global Payout in a local
currency). The difference between `sent_minor` and `amount_minor` is booked to
`fx_differences` at settlement, never into the stipend. `fee_pending`: a payout
confirmed without the provider's fee data (a Stripe webhook), whose fee the payout
worker books once it has read it from the provider (`provider_fee`)
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.add_column("payouts", sa.Column("sent_minor", sa.BigInteger(), nullable=True))
    op.add_column(
        "payouts", sa.Column("received_minor", sa.BigInteger(), nullable=True)
    )
    op.add_column(
        "payouts", sa.Column("received_currency", sa.String(3), nullable=True)
    )
    op.add_column(
        "payouts", sa.Column("exchange_rate", sa.Numeric(24, 12), nullable=True)
    )
    op.add_column(
        "payouts",
        sa.Column(
            "fee_pending", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.create_index(
        "payouts_fee_pending",
        "payouts",
        ["id"],
        postgresql_where=sa.text("fee_pending"),
    )


def downgrade() -> None:
    op.drop_index("payouts_fee_pending", table_name="payouts")
    for column in (
        "fee_pending",
        "exchange_rate",
        "received_currency",
        "received_minor",
        "sent_minor",
    ):
        op.drop_column("payouts", column)
