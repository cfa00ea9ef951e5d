"""accounts: the last accepted TOTP time step, so that a code is good once"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("totp_last_step", sa.BigInteger()))


def downgrade() -> None:
    op.drop_column("accounts", "totp_last_step")
