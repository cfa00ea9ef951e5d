"""The gateway service: HTTP entrypoints only (the JSON API, the web consoles,
Stripe's webhooks). This module composes them; each route is declared once, in the
module of the people it serves:

- gateway.api.*: the JSON API (session, communicators, reports, strategies,
  stipends, payouts, reconciliation, admin, inbox, platform);
- gateway.console.*: the web consoles (public, me, people, programme, finance,
  reconciliation, coordinator, strategies).

gateway.base holds what every route stands on (the session, the roles, CSRF, the
schemas, how a refusal is shown), gateway.http the declarations themselves."""

from __future__ import annotations

from gateway.api.admin import AdminApi
from gateway.api.communicators import CommunicatorsApi
from gateway.api.impact import ImpactApi
from gateway.api.inbox import InboxApi
from gateway.api.ledger import LedgerApi
from gateway.api.oversight import OversightApi
from gateway.api.payouts import PayoutsApi
from gateway.api.platform import PlatformApi
from gateway.api.programmes import ProgrammesApi
from gateway.api.reconciliation import ReconciliationApi
from gateway.api.reports import ReportsApi
from gateway.api.session import SessionApi
from gateway.api.stipends import StipendsApi
from gateway.api.strategies import StrategiesApi
from gateway.console.clubs import ClubsConsole
from gateway.console.coordinator import CoordinatorConsole
from gateway.console.finance import FinanceConsole
from gateway.console.impact import ImpactConsole
from gateway.console.ledger import LedgerConsole
from gateway.console.me import MeConsole
from gateway.console.oversight import OversightConsole
from gateway.console.people import PeopleConsole
from gateway.console.programme import ProgrammeConsole
from gateway.console.programmes import ProgrammesConsole
from gateway.console.public import PublicConsole
from gateway.console.reconciliation import ReconciliationConsole
from gateway.console.strategies import StrategiesConsole
from svyaz.metrics import Observed


class GatewayService(
    PlatformApi,
    SessionApi,
    CommunicatorsApi,
    ReportsApi,
    StipendsApi,
    StrategiesApi,
    PayoutsApi,
    ReconciliationApi,
    AdminApi,
    InboxApi,
    ProgrammesApi,
    OversightApi,
    LedgerApi,
    ImpactApi,
    PublicConsole,
    MeConsole,
    PeopleConsole,
    ProgrammeConsole,
    ClubsConsole,
    FinanceConsole,
    ReconciliationConsole,
    LedgerConsole,
    CoordinatorConsole,
    ProgrammesConsole,
    OversightConsole,
    ImpactConsole,
    StrategiesConsole,
):
    name = "gateway"
    observed = Observed(outbox=False)  # metrics on METRICS_PORT, correlation ids
