"""Stipends use cases: plain functions over a session and plain values."""

from stipends.logic.readmodel import (
    STATUS_AFTER,
    get_communicator,
    record_applicant,
    registry_changed,
)

__all__ = ["STATUS_AFTER", "get_communicator", "record_applicant", "registry_changed"]
