"""The registry's entrypoints, a class per area of work (people, clubs, payouts,
erasure, accounts); `registry.service.RegistryService` composes them and declares
the dependencies they share. Each entrypoint loads its input with a schema, opens one
transaction, calls one logic function and dumps the result."""
