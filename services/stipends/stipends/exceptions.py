"""The stipends service's errors, each of a platform kind (svyaz.errors) so callers
such as the gateway map them to statuses without importing this package."""

from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError


class StipendsError(ServiceError):
    """Base of the stipends service's errors."""


class InvalidRequest(StipendsError, InvalidInput):
    """A request failed validation; `fields` says which field and why."""


class InvalidTransition(StipendsError, Conflict):
    """The record is not in a state that allows this step."""


class ConcurrentChange(StipendsError, Conflict):
    """Someone else changed the record at the same moment; reload and try again."""


class OverBudget(StipendsError, Conflict):
    """The programme's remaining budget does not cover this."""


class KeyReused(StipendsError, Conflict):
    """An idempotency key came back with a different request."""


class NotAllowed(StipendsError, Forbidden):
    """The actor's role or identity does not allow this."""


class CommunicatorNotFound(StipendsError, NotFound):
    pass


class ProgrammeNotFound(StipendsError, NotFound):
    pass


class CycleNotFound(StipendsError, NotFound):
    pass


class FundingNotFound(StipendsError, NotFound):
    """No funding entry of that id (in that programme)."""


class ReportNotFound(StipendsError, NotFound):
    pass


class StipendNotFound(StipendsError, NotFound):
    pass


class AccountNotFound(StipendsError, NotFound):
    pass


class ReconciliationNotFound(StipendsError, NotFound):
    pass


class ProviderUnavailable(StipendsError, Conflict):
    """The payment provider did not answer; nothing was recorded: try again."""
