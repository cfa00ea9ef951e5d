"""payouts: the approved destination's fingerprint, fixed on the payout at build"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column(
        "payouts", sa.Column("destination_fingerprint", sa.String(64), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("payouts", "destination_fingerprint")
