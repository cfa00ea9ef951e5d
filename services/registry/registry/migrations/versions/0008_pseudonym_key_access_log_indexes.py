"""pseudonyms unique whatever their case (and look-alike letters); the access log
searchable by person and by reader

`communicators.pseudonym_key` is registry.pseudonyms.key(pseudonym). Every pseudonym
written before this revision is ASCII (the old rule), for which the key is lower().
Where two existing pseudonyms differ only by case, the earlier applicant keeps the
key and the later one's key gets its id appended, so the unique index can be built
and neither is renamed. The column stays nullable while code that does not fill it
may still run; a later revision backfills what it wrote and sets NOT NULL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.add_column("communicators", sa.Column("pseudonym_key", sa.String(40)))
    op.execute(
        """
        UPDATE communicators AS c SET pseudonym_key = CASE
            WHEN ranked.n = 1 THEN lower(c.pseudonym)
            ELSE lower(c.pseudonym) || '~' || left(c.id::text, 8)
        END
        FROM (
            SELECT id, row_number() OVER (
                PARTITION BY lower(pseudonym) ORDER BY applied_at, id
            ) AS n
            FROM communicators
        ) AS ranked
        WHERE ranked.id = c.id
        """
    )
    op.create_unique_constraint(
        "communicators_pseudonym_key_key", "communicators", ["pseudonym_key"]
    )
    op.create_index(
        "pii_access_log_communicator", "pii_access_log", ["communicator_id", "id"]
    )
    op.create_index("pii_access_log_accessor", "pii_access_log", ["accessor", "id"])
    op.create_index("pii_access_log_at", "pii_access_log", ["at"])


def downgrade() -> None:
    op.drop_index("pii_access_log_at", "pii_access_log")
    op.drop_index("pii_access_log_accessor", "pii_access_log")
    op.drop_index("pii_access_log_communicator", "pii_access_log")
    op.drop_constraint(
        "communicators_pseudonym_key_key", "communicators", type_="unique"
    )
    op.drop_column("communicators", "pseudonym_key")
