"""A person's own choices: channels, language, time zone, quiet hours, discretion.
Someone who never chose anything gets the defaults, which are not stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.exceptions import InvalidPreferences
from notifications.logic.recipients import Recipient
from notifications.models import Preference, is_staff
from notifications.templates import language_of

DEFAULT_CHANNELS = ("email", "inbox")

# built once on the table (not the ORM entity): this runs for many sends
_REMEMBER_LANGUAGE = (
    insert(Preference.__table__)
    .values(
        recipient_id=bindparam("recipient_id"),
        audience=bindparam("audience"),
        language=bindparam("language"),
        channels=list(DEFAULT_CHANNELS),
        discreet=True,
        version=1,
    )
    .on_conflict_do_update(
        index_elements=["recipient_id"],
        set_={"language": bindparam("language")},
    )
)


def preferences(session: Session, recipient: Recipient) -> Preference:
    """The recipient's stored preferences, created with the defaults on first use."""
    pref = session.get(Preference, recipient.id)
    if pref is None:
        session.execute(
            insert(Preference)
            .values(
                recipient_id=recipient.id,
                audience=recipient.audience,
                channels=list(DEFAULT_CHANNELS),
                discreet=True,
                version=1,
            )
            .on_conflict_do_nothing()
        )
        pref = session.get(Preference, recipient.id)
    assert pref is not None
    return pref


def default_preferences(recipient: Recipient) -> Preference:
    """What applies to someone who never chose anything (not stored)."""
    return Preference(
        recipient_id=recipient.id,
        audience=recipient.audience,
        language=None,
        channels=list(DEFAULT_CHANNELS),
        timezone=None,
        quiet_start=None,
        quiet_end=None,
        discreet=True,
    )


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidPreferences(
            f"unknown time zone {name!r}",
            "invalid_preferences",
            {"timezone": ["use an IANA time zone such as Asia/Tbilisi"]},
        ) from None


def quiet_until(
    now: datetime, start: time | None, end: time | None, tz_name: str | None
) -> datetime | None:
    """When the quiet period around `now` ends (UTC), or None outside quiet hours.

    Quiet hours are local times in the recipient's zone and may span midnight
    (22:00 to 07:00)."""
    if start is None or end is None or start == end:
        return None
    tz = zone(tz_name)
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:
        if not start <= clock < end:
            return None
        end_day = today
    elif clock >= start:
        end_day = today + timedelta(days=1)
    elif clock < end:
        end_day = today
    else:
        return None
    return datetime.combine(end_day, end, tzinfo=tz).astimezone(UTC)


def available(channels: Mapping[str, Channel]) -> list[str]:
    """The channels a person may choose: those this deployment has turned on."""
    return [name for name, channel in channels.items() if channel.enabled]


def set_preferences(
    session: Session,
    recipient: Recipient,
    changes: Mapping[str, Any],
    available: Iterable[str],
) -> Preference:
    """Apply a person's own choices; a bad choice changes nothing."""
    pref = preferences(session, recipient)
    errors: dict[str, list[str]] = {}
    channels = changes.get("channels")
    if channels is not None:
        unknown = sorted(set(channels) - set(available))
        if unknown:
            errors["channels"] = [
                f"not offered here: {', '.join(unknown)}; choose among "
                f"{', '.join(sorted(available))}"
            ]
        elif "inbox" not in channels:
            errors["channels"] = ["the in-app inbox cannot be turned off"]
    if changes.get("discreet") is False and not is_staff(pref.audience):
        errors["discreet"] = ["discreet mode stays on for communicators"]
    if "timezone" in changes and changes["timezone"] is not None:
        try:
            zone(changes["timezone"])
        except InvalidPreferences as exc:
            errors.update(exc.fields)
    start = changes.get("quiet_start", pref.quiet_start)
    end = changes.get("quiet_end", pref.quiet_end)
    if (start is None) != (end is None):
        missing = "quiet_end" if end is None else "quiet_start"
        errors[missing] = ["give both the start and the end of quiet hours"]
    if errors:
        raise InvalidPreferences(
            "the preferences are invalid", "invalid_preferences", errors
        )
    for key in ("language", "timezone", "quiet_start", "quiet_end", "discreet"):
        if key in changes:
            setattr(pref, key, changes[key])
    if channels is not None:
        pref.channels = sorted(set(channels))
    pref.updated_at = datetime.now(UTC)
    session.flush()
    return pref


def language_for(session: Session, recipient_id: uuid.UUID, asked: str | None) -> str:
    pref = session.get(Preference, recipient_id)
    return language_of(asked or (pref.language if pref else None))


def remember_language(
    session: Session, recipient_id: uuid.UUID, audience: str, language: str
) -> None:
    """The registry profile's language, kept for the next message (the inbox's)."""
    remember_languages(
        session,
        [{"recipient_id": recipient_id, "audience": audience, "language": language}],
    )


def remember_languages(session: Session, learnt: list[dict[str, Any]]) -> None:
    """`remember_language` for several recipients in one statement (rows of
    recipient_id, audience and language). Callers write only what changed."""
    if learnt:
        session.execute(_REMEMBER_LANGUAGE, learnt)
