"""Work waiting for staff (applications, reports, approvals): an item per thing to
do, waiting until the event that finishes it, then kept a while as a tombstone."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.models import PendingItem

if TYPE_CHECKING:
    from notifications.logic.fact import Fact

APPLICATION, REPORT, APPROVAL = "application", "report", "approval"
STRATEGY = "strategy"  # shared, and no mentor has commented on that version yet


# session.info key: while set (a batched handler's session, see courier), item states
# are gathered there and written together at the batch's end (`write_work`)
WORK = "notifications.work"

_TABLE = PendingItem.__table__
_UPSERT = insert(_TABLE).values(
    kind=bindparam("kind"),
    item_id=bindparam("item_id"),
    communicator_id=bindparam("communicator_id"),
    state=bindparam("state"),
    as_of=bindparam("as_of"),
    proposed_by=bindparam("proposed_by"),
)
_UPSERT = _UPSERT.on_conflict_do_update(
    index_elements=[_TABLE.c.kind, _TABLE.c.item_id],
    set_={
        "state": _UPSERT.excluded.state,
        "as_of": _UPSERT.excluded.as_of,
        "proposed_by": _UPSERT.excluded.proposed_by,
    },
    where=_TABLE.c.as_of <= _UPSERT.excluded.as_of,  # a tie: the later one
)


def _work(
    session: Session,
    kind: str,
    item_id: uuid.UUID,
    communicator_id: uuid.UUID,
    state: str,
    as_of: datetime,
    proposed_by: uuid.UUID | None = None,
) -> None:
    """Set an item's state as of its event's time, unless a later event already
    did: arrival and completion come on different queues, in any order."""
    row = {
        "kind": kind,
        "item_id": item_id,
        "communicator_id": communicator_id,
        "state": state,
        "as_of": as_of,
        "proposed_by": proposed_by,
    }
    gathered = session.info.get(WORK)
    if gathered is not None:
        gathered.append(row)
        return
    write_work(session, [row])


def write_work(session: Session, rows: list[dict[str, Any]]) -> None:
    """Item states in one statement: per item the latest (a tie: the later one, as
    if each were written in turn), then the same rule against what is stored."""
    latest: dict[tuple[str, uuid.UUID], dict[str, Any]] = {}
    for row in rows:
        key = (row["kind"], row["item_id"])
        if key not in latest or row["as_of"] >= latest[key]["as_of"]:
            latest[key] = row
    if latest:
        session.execute(_UPSERT, list(latest.values()))


def work_arrived(
    fact: Fact, kind: str, item_id: uuid.UUID, proposed_by: uuid.UUID | None = None
) -> None:
    """The event `fact` brings an item of `kind` about its communicator to do;
    `proposed_by`: an approval's proposer, who may not give it."""
    _work(
        fact.session,
        kind,
        item_id,
        fact.communicator_id,
        "waiting",
        fact.at,
        proposed_by,
    )


def work_done(fact: Fact, kind: str, item_id: uuid.UUID) -> None:
    """The event `fact` finishes the item."""
    _work(fact.session, kind, item_id, fact.communicator_id, "done", fact.at)


def purge_finished_work(session: Session, now: datetime, keep: timedelta) -> int:
    """Forget items done longer ago than `keep`; how many. A done item stays a while
    as a tombstone, so that its late "arrived" event (on another queue) cannot make it
    wait again; `keep` must exceed how late an event can come (a parked one replayed
    by an admin included), hence weeks, not minutes."""
    result = session.execute(
        delete(PendingItem).where(
            PendingItem.state == "done", PendingItem.as_of < now - keep
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def waiting(session: Session) -> dict[str, int]:
    """The items waiting, counted by kind."""
    rows = session.execute(
        select(PendingItem.kind, func.count())
        .where(PendingItem.state == "waiting")
        .group_by(PendingItem.kind)
    ).all()
    return {kind: int(count) for kind, count in rows}


def approvals_open_to(
    session: Session, staff_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """For each staff id, how many waiting approvals they may give: neither
    proposed by them nor of their own stipend (an approval whose proposer no
    event named counts for everyone). Three counts whatever the number of staff:
    all waiting approvals, and those among them by proposer and by communicator
    in `staff_ids`. An approval one gave already, of the two a large amount
    needs, still counts (the events do not say who approved): the console's
    first page is exact."""
    if not staff_ids:
        return {}
    waiting_approval = (
        PendingItem.kind == APPROVAL,
        PendingItem.state == "waiting",
    )
    total = int(
        session.scalar(
            select(func.count()).select_from(PendingItem).where(*waiting_approval)
        )
        or 0
    )
    # a staff member's own proposals, and approvals of their own stipend (both
    # at once counted once)
    theirs: dict[uuid.UUID, int] = dict(
        session.execute(
            select(PendingItem.proposed_by, func.count())
            .where(*waiting_approval, PendingItem.proposed_by.in_(staff_ids))
            .group_by(PendingItem.proposed_by)
        ).all()
    )
    own: dict[uuid.UUID, int] = dict(
        session.execute(
            select(PendingItem.communicator_id, func.count())
            .where(
                *waiting_approval,
                PendingItem.communicator_id.in_(staff_ids),
                PendingItem.proposed_by.is_distinct_from(PendingItem.communicator_id),
            )
            .group_by(PendingItem.communicator_id)
        ).all()
    )
    return {
        ident: total - int(theirs.get(ident, 0)) - int(own.get(ident, 0))
        for ident in staff_ids
    }
