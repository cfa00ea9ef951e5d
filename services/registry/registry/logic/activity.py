"""A communicator record's trail, oldest first, from what the registry records.

Sources: the application itself, `vetting_decisions` (status changes, tier changes
and erasure, all insert-only), `activation_approvals`, `review_items` (opened and
resolved), `training_completions`, `club_changes`, and the payout set-up's present
state.

Nothing free-typed leaves here: decision reasons and review notes may hold what an
admin wrote about a person, so `detail` carries codes, ids and titles only.

Not recorded, so not shown: earlier payout set-ups (only the current provider and
status and when they last changed are kept), the tier a change came from, who
opened a dedup review item (the application did), the club an applicant chose on
the application form (only the changes admins make since are, from `club_changes`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry.exceptions import CommunicatorNotFound
from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN
from registry.models import (
    TIER_PREFIX,
    ActivationApproval,
    ClubChange,
    Communicator,
    PayoutAccount,
    ReviewItem,
    Training,
    TrainingCompletion,
    VettingDecision,
)


def _entry(
    at: datetime, actor_id: uuid.UUID | None, action: str, **detail: Any
) -> dict[str, Any]:
    return {"at": at, "actor_id": actor_id, "action": action, "detail": detail}


def _decision(row: VettingDecision) -> dict[str, Any]:
    if row.from_status != row.to_status:
        return _entry(
            row.at,
            row.actor_id,
            "status_changed",
            **{"from": row.from_status, "to": row.to_status},
        )
    if row.reason.startswith(TIER_PREFIX):
        tier = row.reason[len(TIER_PREFIX) :].split(":", 1)[0].strip()
        return _entry(row.at, row.actor_id, "tier_changed", tier=tier)
    # the only other writer of a same-status decision is erasure
    by = "self" if row.actor_id == row.communicator_id else "admin"
    return _entry(row.at, row.actor_id, "erased", by=by)


def communicator_activity(
    session: Session, actor: Actor, communicator_id: uuid.UUID
) -> list[dict[str, Any]]:
    actor.require(ADMIN)
    communicator = session.get(Communicator, communicator_id)
    if communicator is None:
        raise CommunicatorNotFound("no such communicator", "communicator_not_found")
    trail = [_entry(communicator.applied_at, communicator.id, "applied")]
    trail += [
        _entry(row.at, row.admin_id, "activation_approved")
        for row in session.scalars(
            select(ActivationApproval).where(
                ActivationApproval.communicator_id == communicator.id
            )
        )
    ]
    for item in session.scalars(
        select(ReviewItem).where(
            or_(
                ReviewItem.communicator_id == communicator.id,
                ReviewItem.other_id == communicator.id,
            )
        )
    ):
        other = (
            item.other_id
            if item.communicator_id == communicator.id
            else item.communicator_id
        )
        trail.append(
            _entry(
                item.opened_at,
                None,
                "review_item_opened",
                item_id=item.id,
                kind=item.kind,
                other_communicator_id=other,
            )
        )
        if item.resolved_at is not None:
            trail.append(
                _entry(
                    item.resolved_at,
                    item.resolved_by,
                    "review_item_resolved",
                    item_id=item.id,
                    kind=item.kind,
                    outcome=item.status,
                )
            )
    trail += [
        _decision(row)
        for row in session.scalars(
            select(VettingDecision)
            .where(VettingDecision.communicator_id == communicator.id)
            .order_by(VettingDecision.id)
        )
    ]
    trail += [
        _entry(
            completion.at,
            completion.recorded_by,
            "training_completed",
            training_id=training.id,
            title=training.title,
        )
        for completion, training in session.execute(
            select(TrainingCompletion, Training)
            .join(Training, Training.id == TrainingCompletion.training_id)
            .where(TrainingCompletion.communicator_id == communicator.id)
        ).tuples()
    ]
    trail += [
        _entry(change.at, change.actor_id, "club_changed", club_id=change.club_id)
        for change in session.scalars(
            select(ClubChange)
            .where(ClubChange.communicator_id == communicator.id)
            .order_by(ClubChange.id)
        )
    ]
    payout = session.get(PayoutAccount, communicator.id)
    if payout is not None:
        trail.append(
            _entry(
                payout.updated_at,
                None,
                "payout_setup_state",
                provider=payout.provider,
                status=payout.status,
            )
        )
    # a stable sort: at one instant (one transaction) an approval stays before the
    # status change it caused
    return sorted(trail, key=lambda entry: entry["at"])
