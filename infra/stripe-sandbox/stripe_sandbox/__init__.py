"""A stateful Stripe on loopback for tests and `make run`.

localstripe (charges, customers, payment intents...) plus what Svyaz needs and
localstripe lacks: Connect accounts and onboarding, transfers and reversals,
connected-account payouts, balance transactions, Stripe's idempotency rules,
signed webhooks, and fault switches under /_sandbox/. See README.md here.
"""
