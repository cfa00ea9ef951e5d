"""The stipends service: the entrypoints of stipends.entrypoints, one class per area
of work, and the dependencies they share."""

from __future__ import annotations

from stipends import metrics as stipends_metrics
from stipends.dependencies import PayoutEngine
from stipends.entrypoints.communicators import CommunicatorsEntrypoints
from stipends.entrypoints.ledger import LedgerEntrypoints
from stipends.entrypoints.payouts import PayoutsEntrypoints
from stipends.entrypoints.programmes import ProgrammesEntrypoints
from stipends.entrypoints.reports import ReportsEntrypoints
from stipends.entrypoints.stipends import StipendsEntrypoints
from stipends.entrypoints.strategies import StrategiesEntrypoints
from stipends.settings import Settings
from svyaz.commands import CommandUpkeep
from svyaz.dependencies import Database, OutboxRelay
from svyaz.inbox import InboxUpkeep
from svyaz.metrics import Observed
from svyaz.parking import ParkedMessagesEntrypoints
from svyaz.rpc_proxy import RpcProxy
from svyaz.settings import Configured


class StipendsService(
    CommunicatorsEntrypoints,
    ProgrammesEntrypoints,
    ReportsEntrypoints,
    StrategiesEntrypoints,
    StipendsEntrypoints,
    LedgerEntrypoints,
    PayoutsEntrypoints,
    InboxUpkeep,
    CommandUpkeep,
    ParkedMessagesEntrypoints,
):
    name = "stipends"

    db = Database()
    outbox = OutboxRelay()
    observed = Observed(sample=stipends_metrics.sample)
    settings = Configured(Settings)
    registry = RpcProxy("registry")
    payout_engine = PayoutEngine()
