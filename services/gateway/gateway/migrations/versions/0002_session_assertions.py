"""sessions: the registry's signed assertion of who is signed in, and its expiry"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("sessions", sa.Column("assertion", sa.Text()))
    op.add_column(
        "sessions", sa.Column("assertion_expires_at", sa.DateTime(timezone=True))
    )


def downgrade() -> None:
    op.drop_column("sessions", "assertion_expires_at")
    op.drop_column("sessions", "assertion")
