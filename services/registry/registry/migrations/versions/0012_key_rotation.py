"""key rotation: blind indexes carry their key's id, a payout destination's own
rotatable index, and the access log's HMAC chain (a key id per row, a signed head,
and the seal over the older plain SHA-256 chain)

Blind indexes become `<kid>.<hex>` (up to 20 + 1 + 64 characters); those written
before stay bare hex and are found as such until re-keyed. A payout account's
`fingerprint` is the token stipends holds and never changes; duplicates are found by
`destination_index`, which follows the index key (filled here from the fingerprint,
the same HMAC). No HMAC can be computed here (the access-log key is not the
database's): the registry seals the existing chain when it first starts.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

INDEXES = (
    ("communicators", "email_index"),
    ("communicators", "phone_index"),
    ("accounts", "login_index"),
    ("payout_accounts", "account_index"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.alter_column(table, column, type_=sa.String(100))
    op.add_column("payout_accounts", sa.Column("destination_index", sa.String(100)))
    op.execute("UPDATE payout_accounts SET destination_index = fingerprint")
    op.create_index(
        "ix_payout_accounts_destination_index", "payout_accounts", ["destination_index"]
    )

    op.add_column("pii_access_log", sa.Column("key_id", sa.String(20)))
    op.add_column("access_chain_head", sa.Column("key_id", sa.String(20)))
    op.add_column("access_chain_head", sa.Column("mac", sa.String(64)))
    op.create_table(
        "access_chain_seals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("after_rows", sa.Integer(), nullable=False),
        sa.Column("sealed_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.execute(
        "CREATE TRIGGER access_chain_seals_insert_only BEFORE UPDATE OR DELETE "
        "ON access_chain_seals FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )


def downgrade() -> None:
    op.drop_table("access_chain_seals")
    op.drop_column("access_chain_head", "mac")
    op.drop_column("access_chain_head", "key_id")
    op.drop_column("pii_access_log", "key_id")
    op.drop_index("ix_payout_accounts_destination_index", "payout_accounts")
    op.drop_column("payout_accounts", "destination_index")
    for table, column in INDEXES:
        op.alter_column(table, column, type_=sa.String(64))
