"""vetting, dedup review, clubs and trainings, corridors and payout accounts, the
hash-chained access log, consent texts
"""

import hashlib

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"

UUID = postgresql.UUID(as_uuid=True)
GENESIS = "0" * 64

# Countries of residence and the provider that serves them (DESIGN.md): Connect for
# the US, UK, EEA, Canada and Switzerland; Global Payouts for Armenia, Kazakhstan,
# Serbia, Turkey and Uzbekistan; a bank file where no Stripe product reaches.
CONNECT = (
    "AT",
    "BE",
    "CA",
    "CH",
    "CY",
    "CZ",
    "DE",
    "EE",
    "ES",
    "FI",
    "FR",
    "GB",
    "IT",
    "LT",
    "LV",
    "NL",
    "PL",
    "PT",
    "SE",
    "US",
)
GLOBAL = ("AM", "KZ", "RS", "TR", "UZ")
BANK = ("GE", "IL", "KG", "ME")

CONSENT_EN = (
    "I agree that the programme stores the personal data I give here, encrypted, "
    "to vet my application, pay stipends and contact me; that only the people who "
    "need it for those purposes can read it, and every reading is logged; and that "
    "I can ask for it to be erased at any time."
)
CONSENT_RU = (
    "Я согласен(на), что программа хранит указанные мной персональные данные в "
    "зашифрованном виде, чтобы рассмотреть мою заявку, выплачивать стипендии и "
    "связываться со мной; что их могут прочитать только те, кому это нужно для "
    "этих целей, и каждое прочтение записывается; и что я могу в любой момент "
    "потребовать их удаления."
)

REFUSE_CHANGE = """
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is insert-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def chain_hash(prev: str, row) -> str:  # frozen copy of registry.logic.access
    text = "|".join(
        [
            prev,
            str(row.id),
            str(row.communicator_id),
            row.accessor,
            row.field,
            row.purpose,
            row.at.isoformat(),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def upgrade() -> None:
    op.create_table(
        "clubs",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("city", sa.String(80)),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("coordinator_id", UUID),
    )
    op.drop_constraint("communicators_email_index_key", "communicators")
    op.create_index("ix_communicators_email_index", "communicators", ["email_index"])
    for column in [
        sa.Column("tier", sa.String(20), nullable=False, server_default="volunteer"),
        sa.Column("club_id", UUID, sa.ForeignKey("clubs.id")),
        sa.Column("voucher_id", UUID),
        sa.Column("consent_version", sa.String(20)),
        sa.Column("legal_name_ct", sa.Text()),
        sa.Column("phone_ct", sa.Text()),
        sa.Column("messenger_ct", sa.Text()),
        sa.Column("city_ct", sa.Text()),
        sa.Column("languages_ct", sa.Text()),
        sa.Column("motivation_ct", sa.Text()),
        sa.Column("phone_index", sa.String(64)),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
    ]:
        op.add_column("communicators", column)
    op.create_index("ix_communicators_phone_index", "communicators", ["phone_index"])

    op.create_table(
        "vetting_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "communicator_id", UUID, sa.ForeignKey("communicators.id"), nullable=False
        ),
        sa.Column("actor_id", UUID, nullable=False),
        sa.Column("from_status", sa.String(20), nullable=False),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.create_table(
        "activation_approvals",
        sa.Column(
            "communicator_id", UUID, sa.ForeignKey("communicators.id"), primary_key=True
        ),
        sa.Column("admin_id", UUID, primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.create_table(
        "review_items",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column(
            "communicator_id", UUID, sa.ForeignKey("communicators.id"), nullable=False
        ),
        sa.Column("other_id", UUID, sa.ForeignKey("communicators.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolved_by", UUID),
        sa.Column("note", sa.Text()),
        sa.Column(
            "opened_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "trainings",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("club_id", UUID, sa.ForeignKey("clubs.id")),
    )
    op.create_table(
        "training_completions",
        sa.Column("training_id", UUID, sa.ForeignKey("trainings.id"), primary_key=True),
        sa.Column(
            "communicator_id", UUID, sa.ForeignKey("communicators.id"), primary_key=True
        ),
        sa.Column("recorded_by", UUID, nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    corridors = op.create_table(
        "corridors",
        sa.Column("country", sa.String(2), primary_key=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("updated_by", UUID),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.bulk_insert(
        corridors,
        [{"country": c, "provider": "stripe_connect"} for c in CONNECT]
        + [{"country": c, "provider": "stripe_global"} for c in GLOBAL]
        + [{"country": c, "provider": "bank_file"} for c in BANK],
    )
    op.create_table(
        "payout_accounts",
        sa.Column(
            "communicator_id", UUID, sa.ForeignKey("communicators.id"), primary_key=True
        ),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("destination_ct", sa.Text()),
        sa.Column("account_index", sa.String(64), unique=True),
        sa.Column("fingerprint", sa.String(64), index=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    consent = op.create_table(
        "consent_texts",
        sa.Column("version", sa.String(20), primary_key=True),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("body_ru", sa.Text(), nullable=False),
    )
    op.bulk_insert(
        consent,
        [
            {
                "version": "2026-11",
                "current": True,
                "body_en": CONSENT_EN,
                "body_ru": CONSENT_RU,
            }
        ],
    )

    # the access log becomes a hash chain
    op.add_column("pii_access_log", sa.Column("prev_hash", sa.String(64)))
    op.add_column("pii_access_log", sa.Column("hash", sa.String(64)))
    op.drop_constraint("pii_access_log_communicator_id_fkey", "pii_access_log")
    head = op.create_table(
        "access_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    bind = op.get_bind()
    prev, count = GENESIS, 0
    for row in bind.execute(sa.text("SELECT * FROM pii_access_log ORDER BY id")):
        digest = chain_hash(prev, row)
        bind.execute(
            sa.text(
                "UPDATE pii_access_log SET prev_hash = :p, hash = :h WHERE id = :i"
            ),
            {"p": prev, "h": digest, "i": row.id},
        )
        prev, count = digest, count + 1
    op.bulk_insert(head, [{"id": 1, "hash": prev, "count": count}])
    op.alter_column("pii_access_log", "prev_hash", nullable=False)
    op.alter_column("pii_access_log", "hash", nullable=False)
    op.execute(REFUSE_CHANGE)
    for table in ("pii_access_log", "vetting_decisions"):
        op.execute(
            f"CREATE TRIGGER {table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )


def downgrade() -> None:
    for table in ("pii_access_log", "vetting_decisions"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_insert_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS refuse_change()")
    op.drop_table("access_chain_head")
    op.drop_column("pii_access_log", "hash")
    op.drop_column("pii_access_log", "prev_hash")
    op.create_foreign_key(
        "pii_access_log_communicator_id_fkey",
        "pii_access_log",
        "communicators",
        ["communicator_id"],
        ["id"],
    )
    for table in (
        "consent_texts",
        "payout_accounts",
        "corridors",
        "training_completions",
        "trainings",
        "review_items",
        "activation_approvals",
        "vetting_decisions",
    ):
        op.drop_table(table)
    op.drop_index("ix_communicators_phone_index", "communicators")
    for name in (
        "erased_at",
        "activated_at",
        "phone_index",
        "motivation_ct",
        "languages_ct",
        "city_ct",
        "messenger_ct",
        "phone_ct",
        "legal_name_ct",
        "consent_version",
        "voucher_id",
        "club_id",
        "tier",
    ):
        op.drop_column("communicators", name)
    op.drop_index("ix_communicators_email_index", "communicators")
    op.create_unique_constraint(
        "communicators_email_index_key", "communicators", ["email_index"]
    )
    op.drop_table("clubs")
