"""The insights use cases: plain functions on a session (no nameko, no settings).

- `facts`: keep what an event contributes, apply it to the read model, rebuild.
- `figures`: what the impact views count and group by; the views themselves are
  `cycle_figures` and `programme_figures`, with `money_figures` and
  `reconciliation_figures`, every count through `suppression` and `linked`, each
  table leaving as a `published` one.
- `suppression`: the small-cell rule (docs/impact.md).
"""
