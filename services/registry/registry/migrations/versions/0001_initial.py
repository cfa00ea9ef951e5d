"""communicators, the PII access log and the platform tables"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from svyaz.migrations import create_platform_tables_v1, drop_platform_tables_v1

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_platform_tables_v1(op)
    op.create_table(
        "communicators",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("pseudonym", sa.String(40), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("wrapped_key", sa.Text()),
        sa.Column("email_ct", sa.Text()),
        sa.Column("email_index", sa.String(64), unique=True),
        sa.Column("country_ct", sa.Text()),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pii_access_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "communicator_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("communicators.id"),
            nullable=False,
        ),
        sa.Column("accessor", sa.String(100), nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_table("pii_access_log")
    op.drop_table("communicators")
    drop_platform_tables_v1(op)
