from svyaz.errors import InvalidInput, NotFound, ServiceError


class StipendsError(ServiceError):
    """Base of the stipends service's errors."""


class InvalidRequest(StipendsError, InvalidInput):
    pass


class CommunicatorNotFound(StipendsError, NotFound):
    pass
