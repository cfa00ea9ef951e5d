"""who proposed a stipend waiting for approval (`pending_items.proposed_by`), so
that the admins' digest counts for each admin the approvals they may give
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.add_column(
        "pending_items", sa.Column("proposed_by", UUID(as_uuid=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("pending_items", "proposed_by")
