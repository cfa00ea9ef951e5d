"""erasure: the short-lived list of erased ids (as digests) and their aliases, and an
index to find a person's facts
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("alias", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "CREATE INDEX facts_by_communicator ON facts ((data->>'communicator_id'))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX facts_by_communicator")
    op.drop_table("erasures")
