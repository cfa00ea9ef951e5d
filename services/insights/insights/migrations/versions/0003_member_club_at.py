"""members keep when their club was set: a move (communicator.club_changed.v1) and
the activation may arrive in either order, and the later one wins"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("members", sa.Column("club_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("members", "club_at")
