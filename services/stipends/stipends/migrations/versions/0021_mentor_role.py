"""The role a mentor wrote in, kept with each strategy comment and report feedback:
the communicator is told whether their club's coordinator or a programme admin
wrote (`strategies.mentor_role`). Rows written before stay without one."""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    for table in ("strategy_comments", "report_feedback"):
        op.add_column(table, sa.Column("mentor_role", sa.String(32), nullable=True))


def downgrade() -> None:
    for table in ("strategy_comments", "report_feedback"):
        op.drop_column(table, "mentor_role")
