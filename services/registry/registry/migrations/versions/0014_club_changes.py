"""club changes: who put a communicator into a club, moved them or took them out"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.create_table(
        "club_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "communicator_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("communicators.id"),
            nullable=False,
        ),
        sa.Column("club_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("clubs.id")),
        sa.Column("actor_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_club_changes_communicator_id", "club_changes", ["communicator_id"]
    )
    # insert-only, as vetting_decisions (refuse_change: migration 0002)
    op.execute(
        "CREATE TRIGGER club_changes_insert_only BEFORE UPDATE OR DELETE ON "
        "club_changes FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )


def downgrade() -> None:
    op.drop_table("club_changes")
