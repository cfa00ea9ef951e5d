"""staff handles: the name admins see a staff account by (a first name or a
nickname; the email stays sealed), one per staff account in any letter case"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("handle", sa.String(40)))
    op.execute(
        "CREATE UNIQUE INDEX ix_accounts_staff_handle ON accounts (lower(handle)) "
        "WHERE kind = 'staff' AND handle IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_staff_handle", table_name="accounts")
    op.drop_column("accounts", "handle")
