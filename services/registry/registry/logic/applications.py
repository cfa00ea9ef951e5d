"""Applying: a sealed record, dedup signals for admins, the same answer for everyone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import events, pseudonyms
from registry.exceptions import InvalidApplication, InvalidRequest
from registry.logic import accounts, vouches
from registry.logic.access import Sealed
from registry.logic.vetting import open_review_items
from registry.models import (
    PERSONAL_FIELDS,
    Club,
    ClubChange,
    Communicator,
    ConsentText,
    Corridor,
)
from svyaz import outbox
from svyaz.crypto import KeyRing


def _invalid(field: str, message: str, code: str) -> InvalidApplication:
    return InvalidApplication(message, code, {field: [message]})


Refusal = tuple[str, str, str] | None  # (field, message, code)


def _country(session: Session, country: str) -> Refusal:
    if session.get(Corridor, country) is None:
        said = (
            f"no payout route serves {country} yet, so nobody living there can be "
            "paid: give the country you live in; if it is this one, ask the "
            "programme when it will be served"
        )
        return "country", said, "unknown_country"
    return None


def _consent(session: Session, version: str) -> Refusal:
    current = session.scalar(select(ConsentText.version).where(ConsentText.current))
    if version != current:
        said = f"consent to the current consent text ({current}) is required"
        return "consent_version", said, "consent_outdated"
    return None


def _club(session: Session, club_id: uuid.UUID | None) -> Refusal:
    if club_id is not None and session.get(Club, club_id) is None:
        return "club_id", "unknown club", "unknown_club"
    return None


def _pseudonym(session: Session, pseudonym: str) -> Refusal:
    if pseudonyms.mixes_scripts(pseudonym):
        return "pseudonym", pseudonyms.MIXED_MESSAGE, "pseudonym_mixed_scripts"
    if session.scalar(
        select(Communicator.id).where(
            Communicator.pseudonym_key == pseudonyms.key(pseudonym)
        )
    ):
        return "pseudonym", "this pseudonym is taken; choose another", "pseudonym_taken"
    return None


def _password(password: str | None) -> Refusal:
    """The account's password, checked with the application's other fields (one
    answer names every refused field; its account is made further down)."""
    if not password:
        return None
    try:
        accounts.check_password_policy(password)
    except InvalidRequest as exc:
        return "password", exc.message, exc.code
    return None


def apply(
    session: Session, keys: KeyRing, application: dict[str, Any], now: datetime
) -> None:
    """Record an application.

    The answer never says whether the email or phone is already registered: a second
    application with a known email is recorded like any other, and admins see a dedup
    review item linking the two. Returns nothing on purpose.
    """
    refused = [  # every refused field at once, the first one's code for the whole
        found
        for found in (
            _country(session, application["country"]),
            _consent(session, application["consent_version"]),
            _club(session, application.get("club_id")),
            _pseudonym(session, application["pseudonym"]),
            _password(application.get("password")),
        )
        if found is not None
    ]
    if refused:
        fields = {name: [message] for name, message, _ in refused}
        raise InvalidApplication(refused[0][1], refused[0][2], fields)
    current = application["consent_version"]
    club_id = application.get("club_id")

    communicator = Communicator(
        id=uuid.uuid4(),
        pseudonym=application["pseudonym"],
        status="applied",
        tier="volunteer",
        language=application["language"],
        club_id=club_id,
        consent_version=current,
        email_index=keys.blind_index("email", application["email"]),
        phone_index=(
            keys.blind_index("phone", digits(application["phone"]))
            if application.get("phone")
            else None
        ),
    )
    sealed = Sealed.new(session, keys, communicator)
    for name in PERSONAL_FIELDS:
        sealed.seal(name, application.get(name))
    try:
        with session.begin_nested():
            session.add(communicator)
    except IntegrityError:  # a concurrent application took the pseudonym
        raise _invalid(
            "pseudonym", "this pseudonym is taken; choose another", "pseudonym_taken"
        ) from None
    if club_id is not None:  # the club the applicant asked for: on their trail
        session.add(
            ClubChange(
                communicator_id=communicator.id,
                club_id=club_id,
                actor_id=communicator.id,
            )
        )

    for kind, column, value in (
        ("email", Communicator.email_index, application["email"]),
        ("phone", Communicator.phone_index, digits(application.get("phone") or "")),
    ):
        if not value:
            continue
        others = session.scalars(
            select(Communicator.id).where(
                column.in_(keys.blind_indexes(kind, value)),
                Communicator.id != communicator.id,
            )
        )
        open_review_items(session, kind, communicator.id, list(others))

    if application.get("referral"):
        # a request the member confirms; an unknown referral is not revealed as such
        vouches.request(session, communicator, application["referral"], now)

    if application.get("password"):
        accounts.create_communicator_account(
            session,
            keys,
            communicator.id,
            application["email"],
            application["password"],
        )
    outbox.add(
        session,
        events.COMMUNICATOR_APPLIED.build(
            events.aggregate(communicator.id),
            communicator_id=communicator.id,
            pseudonym=communicator.pseudonym,
        ),
    )


def digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def current_consent(session: Session) -> ConsentText:
    text = session.scalar(select(ConsentText).where(ConsentText.current))
    assert text is not None, "migration 0002 seeds the consent text"
    return text
