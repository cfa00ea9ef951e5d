"""Notification use cases: plain functions over a session and plain values.

The flow: an event names its recipients; `deliveries.notify`, in the transaction that
claims the event, writes one delivery per (event, recipient, channel) (a unique
constraint too) and the inbox rows, and returns the deliveries due now. Nothing is
sent before that transaction commits. Then each delivery is sent in three steps
(`courier.Courier` runs them): `deliveries.take` (a short transaction: the row,
locked with SKIP LOCKED, is leased for `SEND_LEASE` so no other sender takes it, and
its attempt counted), `courier.send` (no transaction open: the contact from the
registry, the message in the recipient's language, discreet unless staff turned that
off, over the channel) and `deliveries.record` (sent, a retry time, or parked with the
reason; retried on a new connection if the database went away). A crash between the
send and the record leaves the row leased: the scheduled sender sends it again once
the lease runs out, with the same Message-ID (at least once, the window a few
milliseconds wide). A mail in the recipient's quiet hours is written pending until
their end.

One module per family: recipients (who, and how to reach them), preferences,
deliveries (the rows: written, leased, recorded), courier (sending them, across
transactions), applications, reviews and payouts (what registry's and stipends'
events tell people), work and digests (work waiting for staff), reminders (reports
due), finance (runs waiting and reconciliation), resets (the password-reset mail),
inbox, parked (deliveries an admin retries or discards) and erasure. None of them
reads the environment or knows nameko.
"""
