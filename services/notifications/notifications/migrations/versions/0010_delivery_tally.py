"""deliveries counted by channel and state as they change (`deliveries_tally`, kept
by triggers: svyaz.tallies), so that the metrics sample no longer counts every
delivery ever made
"""

from alembic import op

from svyaz.tallies import Tally

revision = "0010"
down_revision = "0009"

TALLY = Tally("deliveries", ("channel", "status"))  # as notifications.models has it


def upgrade() -> None:
    for statement in TALLY.create():
        op.execute(statement)


def downgrade() -> None:
    for statement in TALLY.drop():
        op.execute(statement)
