"""a submitted report changed before the deadline keeps when (its reviewer sees that
the version to review is not the one first sent)"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.add_column(
        "activity_reports",
        sa.Column("changed_after_submission_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_column("activity_reports", "changed_after_submission_at")
