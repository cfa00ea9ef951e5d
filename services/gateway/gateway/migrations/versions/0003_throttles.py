"""throttles: the shared throttling buckets of the credential-checking routes"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "throttles",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_throttles_expires_at", "throttles", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_throttles_expires_at", table_name="throttles")
    op.drop_table("throttles")
