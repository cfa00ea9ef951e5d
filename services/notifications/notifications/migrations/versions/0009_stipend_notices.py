"""stipend notices: what a communicator was told about each stipend, so that an
approval undone after it was announced is corrected, and one undone before is never
announced (issue 23)
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "stipend_notices",
        sa.Column("stipend_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("communicator_id", UUID(as_uuid=True), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("amount_minor", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
    )
    op.create_index(
        "ix_stipend_notices_communicator_id", "stipend_notices", ["communicator_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_stipend_notices_communicator_id", table_name="stipend_notices")
    op.drop_table("stipend_notices")
