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

# A report's codes: whom a communicator talked with, over what, and the change they
# saw. Stipends checks them, the gateway words them, insights counts them.
REPORT_AUDIENCES = ("family", "friends", "colleagues", "online_community")
REPORT_CHANNELS = (
    "in_person",
    "phone",
    "video",
    "messenger",
    "social_media",
    "email",
    "letter",
    "other",
)
OBSERVED_CHANGES = ("none", "some", "clear")

# A payout run's and a payout's states: stipends keeps them, the gateway shows them.
PAYOUT_RUN_STATUSES = ("draft", "released", "cancelled")
PAYOUT_STATUSES = (
    "planned",
    "queued",
    "calling",
    "sent",
    "paid",
    "failed",
    "cancelled",
)

# A payee's report that a payment did not arrive: its states, and how finance
# resolves it (stipends keeps them, the gateway words them).
RECEIPT_PROBLEM_STATUSES = ("open", "resolved", "withdrawn")
RECEIPT_RESOLUTIONS = (
    "received_after_all",
    "paid_confirmed_by_provider",
    "payout_returned",
    "other",
)

# The ledger's account kinds (stipends books on them, the gateway shows statements);
# the last three take a reconciliation's differences.
LEDGER_DIFFERENCE_KINDS = ("bank_fees", "fx_differences", "unexplained_differences")
LEDGER_ACCOUNT_KINDS = (
    "programme_funds",
    "programme_budget",
    "reservations",
    "stipends_payable",
    "provider_clearing",
    "fees",
    *LEDGER_DIFFERENCE_KINDS,
)

# The languages a communicator may say they speak (ISO 639-1): the registry takes
# these, and the gateway's consoles list them, named in the reader's language.
SPOKEN = (
    "ru",
    "en",
    "uk",
    "be",
    "ka",
    "hy",
    "kk",
    "ky",
    "uz",
    "tt",
    "de",
    "fr",
    "es",
    "it",
    "pl",
    "lt",
    "lv",
    "et",
    "fi",
    "sr",
    "he",
    "tr",
    "pt",
    "cs",
)
