from svyaz.errors import InvalidInput, NotFound, ServiceError


class NotificationsError(ServiceError):
    """Base of the notifications service's errors."""


class DeliveryFailed(NotificationsError):
    """A channel could not deliver. Retried with backoff, then parked; a permanent
    failure (nothing a retry can change) is parked at once."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message, "delivery_failed")
        self.permanent = permanent


class RecipientGone(NotificationsError):
    """The registry no longer knows the recipient (erased, or no such account)."""


class InvalidPreferences(NotificationsError, InvalidInput):
    """Preferences that cannot be applied; nothing was changed."""


class MessageNotFound(NotificationsError, NotFound):
    """No such message in this person's inbox."""


class DeliveryNotFound(NotificationsError, NotFound):
    """No such parked delivery."""
