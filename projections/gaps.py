"""Recording the log's holes (``ledger db record-gaps``), checked against the Merkle tree.

A hole may be recorded (:mod:`ledger.log_gaps`) only where no event ever was, as far as the
ledger can tell: a position the Merkle tree once held a leaf for, or that a signed
checkpoint covers, held an event that has since been deleted, and recording it as a hole
would hide the deletion. Such a position is refused, and with it the whole recording:
nothing is recorded until every hole found is one that never held an event. What the
ledger cannot tell apart is a hole from an event deleted before the tree ever folded it;
the record says who recorded it, when and why, for whoever audits that.
"""

from __future__ import annotations

import getpass
import socket

from sqlalchemy import Connection, func, select

from ledger import log_gaps
from ledger.errors import LedgerError
from ledger.messages import COMMA, Joined, Message
from projections import checkpoints
from projections.merkle import LEAVES
from projections.merkle import NAME as TREE
from projections.projector import Projector
from projections.state import projection_state

#: the reason recorded when none is given
DEFAULT_REASON = (
    "a position left empty by a write that failed before migration 0005 (the position came "
    "from a PostgreSQL sequence, which does not give a number back)"
)


class NotAHole(LedgerError):
    """A position the log skips once held an event: it is not recorded as a hole."""

    code = "not_a_hole"
    title = Message("A deleted event, not a hole")


def recorder_identity(connection: Connection) -> str:
    """Who records: the operating-system user and host, and the database role."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    role = (
        connection.exec_driver_sql("SELECT current_user").scalar()
        if connection.dialect.name == "postgresql"
        else None
    )
    return f"{user}@{socket.gethostname()}" + (f" (database role {role})" if role else "")


def unrecorded(projector: Projector) -> list[int]:
    """The holes in the log's positions not recorded yet."""
    with projector.engine.connect() as connection:
        return log_gaps.holes(connection, projector.ledger.events_table)


def record_gaps(
    projector: Projector, reason: str = DEFAULT_REASON, dry_run: bool = False
) -> list[log_gaps.RecordedGap]:
    """Record every hole not recorded yet (none: an empty list), all or nothing; refuse
    (:class:`NotAHole`) if the Merkle tree or a checkpoint ever held one of them. With
    ``dry_run`` nothing is written: the holes that would be recorded are answered."""
    events = projector.ledger.events_table
    with projector.engine.begin() as connection:
        log_gaps.lock_events(connection, events)
        found = log_gaps.holes(connection, events)
        if not found:
            return []
        held = _held_by_the_tree(projector, connection, found)
        if held:
            shown = Joined([Message("{position:,}", position=p) for p in held[:10]], COMMA)
            raise NotAHole(
                Message(
                    "Position {shown}{more} held an event the Merkle tree or a signed "
                    "checkpoint recorded: it was deleted, not left empty; nothing was recorded. "
                    "`ledger verify` names what is wrong.",
                    shown=shown,
                    more=" …" if len(held) > 10 else "",
                )
            )
        if dry_run:
            return [log_gaps.RecordedGap(p, "", "", reason) for p in found]
        return log_gaps.record(connection, found, recorder_identity(connection), reason)


def _held_by_the_tree(projector: Projector, connection: Connection, found: list[int]) -> list[int]:
    """Of ``found``, the positions a tree leaf or a kept checkpoint covers."""
    covered = connection.execute(select(func.max(checkpoints.checkpoints.c.tree_size))).scalar()
    held = {p for p in found if p <= int(covered or 0)}
    ps = projection_state.c
    active = connection.execute(select(ps.active_set).where(ps.name == TREE)).scalar() or "a"
    leaves = projector.metadata.tables[f"{LEAVES.name}_{active}"]
    for start in range(0, len(found), 1000):
        part = found[start : start + 1000]
        held |= set(
            connection.execute(select(leaves.c.position).where(leaves.c.position.in_(part)))
            .scalars()
            .all()
        )
    return sorted(held)
