"""announce the training completions recorded before stipends listened: until
2026-12-06 only insights consumed training.completed.v1, and stipends learned of a
training only from a tier change, so a volunteer trained before then would never
count as trained for a programme that requires it. One training.completed.v1 per
completion of a person not erased goes to the outbox, with the completion's own
time; stipends marks them trained, and insights, which has them already, keeps one
completion per training and person (a second fact changes no figure)."""

from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.execute("SET LOCAL TimeZone = 'UTC'")  # the envelopes' times, as the code's
    op.execute(
        """
        WITH completion AS (
            SELECT gen_random_uuid() AS event_id, done.*
              FROM training_completions done
              JOIN communicators person ON person.id = done.communicator_id
             WHERE person.erased_at IS NULL
        )
        INSERT INTO outbox (event_id, event_type, producer, aggregate_id, envelope)
        SELECT completion.event_id, 'training.completed.v1', 'registry',
               'communicator:' || completion.communicator_id,
               jsonb_build_object(
                   'event_id', completion.event_id::text,
                   'event_type', 'training.completed.v1',
                   'occurred_at', to_char(completion.at,
                                          'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                   'producer', 'registry',
                   'correlation_id', gen_random_uuid()::text,
                   'data', jsonb_build_object(
                       'training_id', completion.training_id::text,
                       'communicator_id', completion.communicator_id::text))
          FROM completion
         ORDER BY completion.at
        """
    )


def downgrade() -> None:
    pass  # what was announced stays announced
