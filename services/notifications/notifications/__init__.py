"""Notifications: the right message, in the right language, giving no one away."""
