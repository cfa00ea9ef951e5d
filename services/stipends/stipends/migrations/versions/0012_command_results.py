"""command results: idempotent commands' keys and first answers (svyaz.commands)"""

from alembic import op

from svyaz.migrations import create_command_results_v4, drop_command_results_v4

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    create_command_results_v4(op)


def downgrade() -> None:
    drop_command_results_v4(op)
