"""due deliveries, preferences, the in-app inbox, pending staff work"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"

UUID = postgresql.UUID(as_uuid=True)


def _now() -> sa.Column:
    return sa.Column(
        "updated_at",
        sa.DateTime(timezone=True),
        server_default=sa.func.now(),
        nullable=False,
    )


def upgrade() -> None:
    op.add_column(
        "deliveries",
        sa.Column(
            "audience", sa.String(40), server_default="communicator", nullable=False
        ),
    )
    op.add_column(
        "deliveries",
        sa.Column(
            "due_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.add_column(
        "deliveries",
        sa.Column("discreet", sa.Boolean(), server_default="true", nullable=False),
    )
    op.add_column("deliveries", sa.Column("payload", postgresql.JSONB()))
    op.add_column("deliveries", _now())
    op.create_index(
        "deliveries_due",
        "deliveries",
        ["due_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("deliveries_recipient", "deliveries", ["recipient_id"])
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("recipient_id", UUID, nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("event_id", "recipient_id"),
    )
    op.create_index(
        "inbox_messages_recipient", "inbox_messages", ["recipient_id", "id"]
    )
    op.create_table(
        "preferences",
        sa.Column("recipient_id", UUID, primary_key=True),
        sa.Column("audience", sa.String(40), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("channels", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column("timezone", sa.String(64)),
        sa.Column("quiet_start", sa.Time()),
        sa.Column("quiet_end", sa.Time()),
        sa.Column("discreet", sa.Boolean(), nullable=False),
        _now(),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "pending_items",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("item_id", UUID, primary_key=True),
        sa.Column("communicator_id", UUID, nullable=False),
        sa.Column(
            "since",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_pending_items_communicator_id", "pending_items", ["communicator_id"]
    )


def downgrade() -> None:
    op.drop_table("pending_items")
    op.drop_table("preferences")
    op.drop_table("inbox_messages")
    op.drop_index("deliveries_recipient", "deliveries")
    op.drop_index("deliveries_due", "deliveries")
    for column in ("updated_at", "payload", "discreet", "due_at", "audience"):
        op.drop_column("deliveries", column)
