"""Payout runs: paying approved stipends exactly once through a provider.

- `models`: runs, payout rows (a state machine kept in the database), the audit trail
  of operator actions and the webhook events already seen;
- `runs`: building a run from a cycle's approved stipends, its control totals, and
  releasing it (finance, a fresh second factor, a releaser who approved none of it);
- `providers`: one interface; Stripe Connect transfers and a bank file;
- `worker`: the phases (intent → provider call → result), recovery, the poller,
  webhooks and the operator actions.
"""
