"""Payouts' data and adapters; the use cases are `stipends.logic.payouts`.

- `models`: runs, payout rows (a state machine kept in the database), the audit trail
  of operator actions, the webhook events already seen, reconciliations;
- `providers`: one interface; Stripe Connect, Stripe Global Payouts and a bank file;
- `statements`: what a provider reports (transfers, the bank's statement) as rows;
- `bankfiles`: the bank file formats (CSV, pain.001) and the statement's CSV;
- `ratelimit`: one rate limit for every replica (a PostgreSQL row);
- `schemas`: the payout RPCs' input (their entrypoints are
  `stipends.entrypoints.payouts`).
"""
