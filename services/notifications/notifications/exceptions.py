from svyaz.errors import ServiceError


class NotificationsError(ServiceError):
    """Base of the notifications service's errors."""


class DeliveryFailed(NotificationsError):
    """A channel could not deliver; the handler retries, then parks."""
