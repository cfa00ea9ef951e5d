"""communicators (ids and pseudonyms) and the platform tables"""

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
        sa.Column("pseudonym", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("communicators")
    drop_platform_tables_v1(op)
