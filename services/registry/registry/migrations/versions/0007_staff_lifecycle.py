"""staff life cycle: invitations (a reset's purpose), last sign-in, second-factor
resets that two admins make
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("last_sign_in_at", sa.DateTime(timezone=True)))
    op.add_column(
        "password_resets",
        sa.Column("purpose", sa.String(20), nullable=False, server_default="reset"),
    )
    op.create_table(
        "second_factor_resets",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "account_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("requested_by", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", postgresql.UUID(as_uuid=True)),
        sa.Column("approved_at", sa.DateTime(timezone=True)),
        # the approver is never the one who asked
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> requested_by",
            name="second_factor_resets_two_admins",
        ),
    )


def downgrade() -> None:
    op.drop_table("second_factor_resets")
    op.drop_column("password_resets", "purpose")
    op.drop_column("accounts", "last_sign_in_at")
