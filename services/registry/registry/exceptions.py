"""The registry's errors, each of a platform kind (svyaz.errors) so callers such as
the gateway map them to statuses without importing this package."""

from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError


class RegistryError(ServiceError):
    """Base of the registry's errors."""


class InvalidRequest(RegistryError, InvalidInput):
    """A request failed validation; `fields` says which field and why."""


class InvalidApplication(InvalidRequest):
    pass


class InvalidTransition(RegistryError, Conflict):
    """The record is not in a state that allows this step."""


class NotAllowed(RegistryError, Forbidden):
    """The actor's role or identity does not allow this."""


class ContactNotAllowed(NotAllowed):
    """Only the notifications service may read a contact."""


class CommunicatorNotFound(RegistryError, NotFound):
    pass


class ResetNotFound(RegistryError, NotFound):
    pass


class StaffNotFound(RegistryError, NotFound):
    pass


class ClubNotFound(RegistryError, NotFound):
    pass


class TrainingNotFound(RegistryError, NotFound):
    pass


class ReviewItemNotFound(RegistryError, NotFound):
    pass


class PayoutSetupFailed(RegistryError, Conflict):
    """The payout provider refused or could not be reached; nothing was recorded."""


class VouchNotFound(RegistryError, NotFound):
    """No vouch request of this id asks the actor: the same answer whether it does
    not exist or asks someone else."""


class StripeClosureFailed(RegistryError):
    """Stripe did not confirm deleting or closing an erased person's account: the
    erasure event is retried, then parked for staff (never skipped)."""
