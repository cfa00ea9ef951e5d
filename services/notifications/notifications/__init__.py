"""Notifications: the right message, in the right language, without giving anyone away."""
