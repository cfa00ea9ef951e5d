"""report reminders: active communicators, reporting cycles, who has reported"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"

UUID = postgresql.UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "active_communicators",
        sa.Column("communicator_id", UUID, primary_key=True),
    )
    op.create_table(
        "reporting_cycles",
        sa.Column("cycle_id", UUID, primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "cycle_reports",
        sa.Column("cycle_id", UUID, primary_key=True),
        sa.Column("communicator_id", UUID, primary_key=True, index=True),
    )


def downgrade() -> None:
    op.drop_table("cycle_reports")
    op.drop_table("reporting_cycles")
    op.drop_table("active_communicators")
