"""The declarative base every stipends table is declared on: `models` (programmes,
reports, stipends, the ledger) and `payouts.models` (runs, payouts, reconciliation).
Importing `stipends.models` registers them all."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
