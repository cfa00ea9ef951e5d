from svyaz.errors import Forbidden, InvalidInput, NotFound, ServiceError


class RegistryError(ServiceError):
    """Base of the registry's errors."""


class InvalidRequest(RegistryError, InvalidInput):
    """A request failed validation; `fields` says which field and why."""


class InvalidApplication(InvalidRequest):
    """An application failed validation; `fields` says which field and why."""


class CommunicatorNotFound(RegistryError, NotFound):
    pass


class ContactNotAllowed(RegistryError, Forbidden):
    """Only the notifications service may read a contact."""
