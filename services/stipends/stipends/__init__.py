"""Stipends: programmes, cycles, reports, approvals, the ledger, payouts."""
