"""vouch confirmations: a vouch counts only once the member named confirms it

The vouch moves from communicators.voucher_id (recorded without asking anyone) to
`vouches`, one row per application, pending until the member confirms or declines.
Existing vouches are copied: still pending (14 days to answer) for applications not
yet decided, expired for the others. communicators.voucher_id is then cleared, so
that code still running from before this revision (which read it as a vouch) needs
two approvals during the roll-out; the column is dropped in a later revision.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "vouches",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "applicant_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("communicators.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column(
            "voucher_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("communicators.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'declined')", name="vouches_status"
        ),
        sa.CheckConstraint("applicant_id <> voucher_id", name="vouches_not_self"),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)", name="vouches_decided_at"
        ),
    )
    # the vouches recorded so far were never confirmed: ask again where it matters
    op.execute(
        """
        INSERT INTO vouches (id, applicant_id, voucher_id, status, requested_at,
                             expires_at, decided_at, version)
        SELECT gen_random_uuid(), c.id, c.voucher_id, 'pending', now(),
               CASE WHEN c.status IN ('applied', 'in_review')
                    THEN now() + interval '14 days' ELSE now() END,
               NULL, 1
        FROM communicators c
        JOIN communicators v ON v.id = c.voucher_id
        WHERE c.voucher_id IS NOT NULL AND c.erased_at IS NULL
          AND v.erased_at IS NULL AND c.id <> c.voucher_id
        """
    )
    op.execute(
        "UPDATE communicators SET voucher_id = NULL WHERE voucher_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE communicators c SET voucher_id = v.voucher_id
        FROM vouches v
        WHERE v.applicant_id = c.id AND v.status = 'confirmed'
        """
    )
    op.drop_table("vouches")
