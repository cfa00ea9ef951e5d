"""parked actions: who retried or discarded parked work, when, why, the outcome"""

from alembic import op

from svyaz.migrations import create_parked_actions_v3, drop_parked_actions_v3

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    create_parked_actions_v3(op)


def downgrade() -> None:
    drop_parked_actions_v3(op)
