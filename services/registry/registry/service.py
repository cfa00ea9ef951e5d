"""The registry service: the entrypoints of registry.entrypoints, one class per area
of work, and the dependencies they share."""

from __future__ import annotations

from registry.dependencies import ErasureJournal, Stripe, Vault
from registry.entrypoints.accounts import AccountsEntrypoints
from registry.entrypoints.clubs import ClubsEntrypoints
from registry.entrypoints.erasure import ErasureEntrypoints
from registry.entrypoints.payouts import PayoutsEntrypoints
from registry.entrypoints.people import PeopleEntrypoints
from registry.settings import Settings
from svyaz.commands import CommandUpkeep
from svyaz.dependencies import Caller, Database, OutboxRelay
from svyaz.inbox import InboxUpkeep
from svyaz.metrics import Observed
from svyaz.parking import ParkedMessagesEntrypoints
from svyaz.settings import Configured


class RegistryService(
    PeopleEntrypoints,
    ClubsEntrypoints,
    PayoutsEntrypoints,
    ErasureEntrypoints,
    AccountsEntrypoints,
    InboxUpkeep,
    CommandUpkeep,
    ParkedMessagesEntrypoints,
):
    name = "registry"

    db = Database()
    outbox = OutboxRelay()
    observed = Observed()
    keys = Vault()
    stripe = Stripe()
    caller = Caller()
    settings = Configured(Settings)
    journal = ErasureJournal()
