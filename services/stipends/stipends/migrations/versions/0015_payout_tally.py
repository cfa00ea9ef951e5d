"""payouts counted by state and provider as they change (`payouts_tally`, kept by
triggers: svyaz.tallies), so that the metrics sample no longer counts every payout
ever made
"""

from alembic import op

from svyaz.tallies import Tally

revision = "0015"
down_revision = "0014"

TALLY = Tally("payouts", ("status", "provider"))  # as stipends.payouts.models has it


def upgrade() -> None:
    for statement in TALLY.create():
        op.execute(statement)


def downgrade() -> None:
    for statement in TALLY.drop():
        op.execute(statement)
