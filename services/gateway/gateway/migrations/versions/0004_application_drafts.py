"""application_drafts: an applicant's draft, sealed under a key only their cookie holds"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "application_drafts",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_application_drafts_expires_at", "application_drafts", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_application_drafts_expires_at", table_name="application_drafts")
    op.drop_table("application_drafts")
