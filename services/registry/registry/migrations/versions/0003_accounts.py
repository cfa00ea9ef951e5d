"""accounts: sign-in for communicators and staff"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("roles", sa.String(200), nullable=False),
        sa.Column("login_index", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text()),
        sa.Column("wrapped_key", sa.Text()),
        sa.Column("email_ct", sa.Text()),
        sa.Column("totp_ct", sa.Text()),
        sa.Column(
            "totp_confirmed", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("accounts")
