"""a staff account's language: the one its invitation and password-reset mails are
written in (chosen by the inviting admin; Russian before, for everyone)"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("language", sa.String(8)))


def downgrade() -> None:
    op.drop_column("accounts", "language")
