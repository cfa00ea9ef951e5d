"""Notification use cases: plain functions over a session and plain values.

The flow: an event names its recipients; `deliveries.notify`, in the transaction that
claims the event, writes one delivery per (event, recipient, channel) (a unique
constraint too) and the inbox rows, and returns the deliveries due now. Nothing is
sent before that transaction commits, in which the deliveries it makes due now are
also leased (`deliveries.take_all`: one statement, the rows locked with SKIP LOCKED
and hidden from other senders for `SEND_LEASE`, their attempt counted). Then
`courier.Courier` sends them: `courier.send_all` (no transaction open: the contacts
from the registry in one `get_contacts` call per purpose, each message in the
recipient's language, discreet unless staff turned that off, over the channel) and
`deliveries.record_all` (one UPDATE for the batch: sent, a retry time, or parked with
the reason, each row only if still in the sender's attempt; retried on a new
connection if the database went away). A batched event handler (up to 100 events in
one transaction) gathers its notices and writes them at the batch's end
(`deliveries.write`: the preferences, the inbox rows and the deliveries in three
statements, leased in a fourth; `svyaz.batch.Batch.before_commit`), and sends once
the batch has committed (`Batch.defer`): one contact call and one recording statement
for the batch. The scheduled sender, digests, reminders and finance lease what is due
100 at a time the same way. A crash between the send and the record leaves the rows
leased: the scheduled sender sends them again once the lease runs out, with the same
Message-ID (at least once, the window a few milliseconds wide). A lost connection
never sends twice: before the lease's commit nothing was sent; after it, recording
is retried on a new connection and guarded by the attempt. A mail in the
recipient's quiet hours is written pending until their end.

One module per family: recipients (who, and how to reach them), preferences,
deliveries (the rows: written, leased, recorded), courier (sending them, across
transactions), applications, reviews and payouts (what registry's and stipends'
events tell people), work and digests (work waiting for staff), reminders (reports
due), finance (runs waiting and reconciliation), resets (the password-reset mail),
inbox, parked (deliveries an admin retries or discards) and erasure. None of them
reads the environment or knows nameko.
"""
