"""The stipends service's entrypoints, a class per area of work (communicators,
programmes, reports, strategies, stipends, ledger, payouts);
`stipends.service.StipendsService` composes them and declares the dependencies they
share. Each entrypoint loads its input with a schema, opens one transaction, calls
one logic function and dumps the result."""
