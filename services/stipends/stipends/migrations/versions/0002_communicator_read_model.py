"""the communicator read model: status, tier, training, payout readiness"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.alter_column("communicators", "pseudonym", nullable=True)
    for column in [
        sa.Column("tier", sa.String(20), nullable=False, server_default="volunteer"),
        sa.Column(
            "training_completed",
            sa.Boolean(),
            nullable=False,
            server_default=sa.false(),
        ),
        sa.Column("club_id", postgresql.UUID(as_uuid=True)),
        sa.Column("payout_provider", sa.String(20)),
        sa.Column(
            "payout_ready", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
        sa.Column("destination_fingerprint", sa.String(64)),
        sa.Column("erased", sa.Boolean(), nullable=False, server_default=sa.false()),
    ]:
        op.add_column("communicators", column)


def downgrade() -> None:
    for name in (
        "erased",
        "destination_fingerprint",
        "payout_ready",
        "payout_provider",
        "club_id",
        "training_completed",
        "tier",
    ):
        op.drop_column("communicators", name)
    op.execute("UPDATE communicators SET pseudonym = '' WHERE pseudonym IS NULL")
    op.alter_column("communicators", "pseudonym", nullable=False)
