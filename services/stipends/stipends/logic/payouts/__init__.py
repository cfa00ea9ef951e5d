"""Payout use cases: paying approved stipends exactly once through a provider, and
reconciling what was paid. Plain functions over a session (the worker's phases take
a transaction factory), as the rest of `stipends.logic`; one module per job:

- `runs`: building a run from a cycle's approved stipends, its control totals, and
  releasing it (finance, a fresh second factor, a releaser who approved none of it);
- `outcomes`: a payout sent, paid or failed, with its ledger entries and events;
- `phases`: the payout worker (claim → provider call → record), recovery, the poller;
- `webhooks`: Stripe's events, applied once each and only forward;
- `actions`: finance's actions on one payout (retry, cancel, mark paid or failed);
- `bank`: a run's bank file and the bank statement's import;
- `receipts`: the communicator's word that a payout arrived, and finance's queue;
- `trail`: one payout's history (audit, ledger, provider events);
- `matching`: one run's payouts against the provider's transfers;
- `staging`, `reconciliation`: a period's provider rows staged and classified;
- `resolutions`: finance resolving the differences, and the sign-off.
- `adjustments`: what a reconciliation decides, in the ledger (write-offs to named
  accounts, the provider's and the ledger's clearing figures for the sign-off).

Adapters and data stay in `stipends.payouts`: the models, the providers, the bank
file formats, the provider statements and the shared rate limit.
"""
