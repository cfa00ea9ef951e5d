"""the communicator read model keeps when its club was set (communicator.club_changed.v1
and the activation may arrive in either order)"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.add_column("communicators", sa.Column("club_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("communicators", "club_at")
