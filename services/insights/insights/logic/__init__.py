"""The insights use cases: plain functions on a session (no nameko, no settings).

- `facts`: keep what an event contributes, apply it to the read model, rebuild.
- `figures`: the impact views, every count through `suppression`.
- `suppression`: the small-cell rule (docs/impact.md).
"""
