"""``/api/health`` and ``/api/health/ready``: what a monitor and a load balancer read.

Health (always 200 while the process answers and the database can be reached) says how
everything is: the head of the log, each projection's position, lag and last error, the
state of the two background workers (:mod:`projections.health`: the live follower and the
replay-snapshot maker) and which process runs them, and which process answered (one of the
server's HTTP workers). ``status`` is ``ok`` when nothing is wrong, else ``degraded``.

Readiness answers 200 while this server can serve current answers, else 503 ``not_ready``
with the reasons: the live follower is dead or cannot reach the database, or a projection is
further behind the head than ``LEDGER_READY_MAX_LAG`` events (default 1000). A database out
of reach is 503 ``storage_unavailable`` for both.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field

from api.answers import Out
from api.read_side import ReadSide
from ledger.errors import LedgerError
from ledger.messages import SEMICOLON, Joined, Message
from projections.health import ready_max_lag

#: worker states that mean it is not doing its work
FAILING = ("retrying", "dead")


class NotReady(LedgerError):
    code = "not_ready"
    title = Message("Not ready to serve current answers")

    def __init__(self, detail: Message) -> None:
        super().__init__(detail)
        self.retry_after = 5


class WorkerOut(Out):
    state: Literal["off", "running", "retrying", "stopped", "dead"] = Field(
        description="off: not run by this process; running: its last pass succeeded; "
        "retrying: its last pass failed (last_error) and it tries again in retry_in seconds; "
        "stopped: stopped on purpose; dead: its thread ended without being stopped"
    )
    since: str = Field(description="when it entered this state (UTC)")
    last_error: str | None
    last_success: str | None = Field(description="when its last pass succeeded (UTC)")
    retry_in: float | None
    pid: int | None = Field(
        description="the process that runs it (with several HTTP workers, the one that "
        "supervises them); null: off"
    )


class ServerOut(Out):
    pid: int = Field(description="the process that answered this request")
    workers: int = Field(
        description="how many HTTP worker processes serve (`ledger serve --workers`); 1: the "
        "one process also runs the background work"
    )


class ProjectionHealthOut(Out):
    name: str
    position: int
    lag: int = Field(description="events of the log not folded yet")
    last_error: str | None
    rebuilding: bool


class HealthOut(Out):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: a worker is failing or dead, a projection failed, or one is "
        "further behind than LEDGER_READY_MAX_LAG"
    )
    database: Literal["sqlite", "postgresql"]
    position: int = Field(description="the head of the log: the last global position")
    server: ServerOut = Field(description="which process answered, and how many serve")
    follower: WorkerOut = Field(
        description="the live follower: it folds the log into the read models"
    )
    snapshots: WorkerOut = Field(description="the replay-snapshot maker")
    projections: list[ProjectionHealthOut]


class ReadyOut(Out):
    ready: Literal[True]
    position: int


def health(read_side: ReadSide, _: Any, __: Any, ___: Any) -> dict[str, Any]:
    ledger, projector = read_side.ledger, read_side.projector
    background = read_side.background()
    follower, snapshots = background.follower, background.snapshots
    statuses = projector.status()
    bound = ready_max_lag()
    degraded = (
        follower["state"] in FAILING
        or snapshots["state"] in FAILING
        or any(s.last_error or s.lag > bound for s in statuses)
    )
    return {
        "status": "degraded" if degraded else "ok",
        "database": ledger.database,
        "position": ledger.position(),
        "server": {"pid": os.getpid(), "workers": background.workers},
        "follower": follower,
        "snapshots": snapshots,
        "projections": [
            {
                "name": s.name,
                "position": s.position,
                "lag": s.lag,
                "last_error": s.last_error,
                "rebuilding": s.rebuilding,
            }
            for s in statuses
        ],
    }


def ready(read_side: ReadSide, _: Any, __: Any, ___: Any) -> dict[str, Any]:
    ledger, projector = read_side.ledger, read_side.projector
    reasons: list[Message] = []
    follower = read_side.background().follower
    if follower["state"] == "dead":
        reasons.append(
            Message("the live projections have stopped ({error})", error=follower["last_error"])
        )
    elif follower["state"] == "retrying":
        reasons.append(
            Message("the live projections cannot go on ({error})", error=follower["last_error"])
        )
    bound = ready_max_lag()
    statuses = projector.status()
    reasons += [
        Message(
            "{name} is {lag:,} events behind the log (more than {bound:,})",
            name=s.name,
            lag=s.lag,
            bound=bound,
        )
        for s in statuses
        if s.lag > bound
    ]
    if reasons:
        raise NotReady(Message("Not ready: {reasons}.", reasons=Joined(reasons, SEMICOLON)))
    return {"ready": True, "position": ledger.position()}
