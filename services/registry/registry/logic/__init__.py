"""Registry use cases: plain functions over a session and plain values.

applications (apply), vetting (status changes, approvals, dedup review), clubs (clubs,
trainings, tiers), payouts (corridors, onboarding, destinations), erasure, directory
(search-first lookup, profiles, contacts) and access (the hash-chained log of every
decryption). None of them reads the environment or knows nameko.
"""
