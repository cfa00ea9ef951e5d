"""pending items: the state and the event time that set it, so that the events about
one item apply in the order they happened, whatever order they arrive in
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column(
        "pending_items",
        sa.Column("state", sa.String(10), nullable=False, server_default="waiting"),
    )
    op.add_column(
        "pending_items",
        sa.Column(
            "as_of",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )
    op.create_index(
        "pending_items_waiting",
        "pending_items",
        ["kind"],
        postgresql_where=sa.text("state = 'waiting'"),
    )


def downgrade() -> None:
    op.drop_index("pending_items_waiting", table_name="pending_items")
    op.execute("DELETE FROM pending_items WHERE state = 'done'")
    op.drop_column("pending_items", "as_of")
    op.drop_column("pending_items", "state")
