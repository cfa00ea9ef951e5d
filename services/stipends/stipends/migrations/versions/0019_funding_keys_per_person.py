"""a funding's idempotency key is its author's own: the key of programme_fundings is
(actor_id, idempotency_key), so two people choosing the same key make two fundings
(before, the second was answered as a repeat of the first and booked nothing)"""

from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    op.drop_constraint("programme_fundings_pkey", "programme_fundings", type_="primary")
    op.create_primary_key(
        "programme_fundings_pkey",
        "programme_fundings",
        ["actor_id", "idempotency_key"],
    )


def downgrade() -> None:
    op.drop_constraint("programme_fundings_pkey", "programme_fundings", type_="primary")
    op.create_primary_key(
        "programme_fundings_pkey", "programme_fundings", ["idempotency_key"]
    )
