"""Codes that cross a service boundary, each defined once: the producer validates what
it publishes against them, a consumer words them, and a contract test checks that every
code has its wording. Codes only, never a person's data."""

# payout.failed.v1's `reason`: what went wrong, as something the communicator (or
# finance) can act on. Stipends publishes them; notifications tells the communicator.
PAYOUT_FAILURE_REASONS = (
    "destination_not_ready",  # set up (or finish setting up) the payout account
    "destination_changed",  # the destination changed since approval: check it
    "destination_rejected",  # the provider refused the destination: fix the details
    "provider_refused",  # the provider refused the payment; finance looks into it
    "returned",  # the money came back (reversed or returned by the bank)
    "marked_failed",  # finance marked it failed (the reason is in the audit trail)
)

# A communication strategy's approaches (how a communicator talks, not with whom) and
# how a cycle went against the strategy, as a report says it. Stipends checks them,
# the gateway words them (labels) and lists them in the OpenAPI document.
STRATEGY_APPROACHES = (
    "listening",  # listening first, asking questions
    "personal_story",  # one's own experience, why one left
    "facts",  # verified facts and sources
    "shared_values",  # family, safety, the future of children
    "everyday_life",  # prices, mobilisation, daily consequences
    "humour",
    "other",
)
STRATEGY_PROGRESS = ("on_track", "partly", "off_track", "strategy_changed")
