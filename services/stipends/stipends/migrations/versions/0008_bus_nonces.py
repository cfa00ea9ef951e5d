"""bus nonces: RPC requests taken recently, so that a replay is refused"""

from alembic import op

from svyaz.migrations import create_bus_nonces_v2, drop_bus_nonces_v2

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    create_bus_nonces_v2(op)


def downgrade() -> None:
    drop_bus_nonces_v2(op)
