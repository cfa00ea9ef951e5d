"""Insights' errors, each of a platform kind the gateway maps to a status."""

from svyaz.errors import Forbidden, InvalidInput, NotFound, ServiceError


class InsightsError(ServiceError):
    """Base of the insights service's errors."""


class InvalidRequest(InsightsError, InvalidInput):
    """A request the views cannot answer (an unknown grouping, a bad id)."""


class NotAllowed(InsightsError, Forbidden):
    """The figures are for program admins."""


class CycleNotFound(InsightsError, NotFound):
    """No such cycle in the read model (yet)."""


class ProgrammeNotFound(InsightsError, NotFound):
    """No such programme in the read model (yet)."""
