"""Loading the demo program into a ledger: ``load_demo`` and what it answers.

``load_demo`` writes a realistic, deterministic program into an empty ledger: demo users of
every role, enterprises across Hanoi's districts, the budget lines of every year × project ×
source, about 2,000 support applications (× ``scale``) over all four projects and every
support type, and the activities the departments run themselves. Every change is a command
of the application service (``Ledger``), run by a demo user whose role may run it, so every
invariant of ARCHITECTURE.md holds and nothing bypasses the rules. The amounts and support levels
are demo values, not the program's real figures (:mod:`demo.reference`).

Determinism: one ``random.Random(seed)`` drives every choice and every date is fixed (no
wall clock is read for business dates), so the same seed and scale give the same program
and the same summary. Ids, command ids and recorded times are the ledger's own.

How it runs: the whole program is planned first (:mod:`demo.plan`: who applies for what,
when each step happens and how it ends), then every step is carried out in effective-date
order (:mod:`demo.actions`: each a command of the ledger), a batch of steps per database
transaction (``Ledger.execute``; every command still checks its rules and a refused command
would abort the load).

``ledger.checks.check_invariants`` reads the whole ledger back and says what does not hold.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import get_topic
from sqlalchemy import exists, select

from demo.actions import LedgerActions
from demo.plan import Planner, Step
from demo.reference import VERSION
from ledger.service import Ledger
from ledger.support_application import STATUSES
from ledger.user import User

__all__ = ["VERSION", "DemoError", "DemoSummary", "load_demo", "program_events"]

#: Steps (commands) carried out per database transaction.
BATCH = 250

Progress = Callable[[int, int], None]


class DemoError(Exception):
    """The demo cannot be loaded here (the ledger already holds a program)."""


@dataclass(frozen=True)
class DemoSummary:
    """What ``load_demo`` wrote. Every figure depends only on the seed and the scale."""

    seed: int
    scale: float
    events: int
    users: int
    enterprises: int
    budget_lines: int
    estimates: int
    closed_years: int
    applications: int
    activities: int
    applications_by_status: dict[str, int]
    applications_by_project: dict[str, int]
    applications_by_support_type: dict[str, int]
    actions: dict[str, int]
    city_budget_assigned: int
    city_budget_committed: int
    city_budget_disbursed: int
    city_budget_recovered: int
    city_budget_carried_over: int
    city_budget_cancelled: int

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def program_events(ledger: Ledger) -> bool:
    """Whether the ledger already holds anything but user access (a program is loaded)."""
    table = ledger.events_table
    access = [get_topic(User.Granted), get_topic(User.Revoked)]
    query = select(exists().where(table.c.topic.not_in(access)))
    with ledger.engine.connect() as connection:
        return bool(connection.execute(query).scalar())


def batches(steps: list[Step]) -> Iterator[list[Step]]:
    """``steps`` in their order, in batches of at most :data:`BATCH`; a step to run alone
    (a draft) is a batch of its own."""
    batch: list[Step] = []
    for step in steps:
        if step.alone or len(batch) == BATCH:
            if batch:
                yield batch
            batch = []
        if step.alone:
            yield [step]
            continue
        batch.append(step)
    if batch:
        yield batch


def run_steps(ledger: Ledger, steps: list[Step], progress: Progress | None) -> None:
    """Carry out ``steps`` in their order, a batch of them per database transaction; a
    step to run alone (a draft, which catches the read models up and reads them first)
    runs outside any."""
    total = len(steps)
    done = 0
    if progress:
        progress(0, total)
    for batch in batches(steps):
        if batch[0].alone:
            batch[0].run(batch[0].date)
        else:
            run_batch(ledger, batch)
        done += len(batch)
        if progress:
            progress(done, total)


def run_batch(ledger: Ledger, batch: list[Step]) -> None:
    """Carry out ``batch`` in one unit of work (one transaction)."""
    attempts = 0

    def work() -> None:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            # The service reruns a unit of work that lost a race or hit a number
            # already taken; the demo's own bookkeeping cannot be replayed, so stop.
            raise DemoError(
                "A batch of the demo conflicted with what the ledger already holds "
                "(another writer, or a number already used); nothing of that batch "
                "was written. Load the demo alone, into an empty ledger."
            )
        for step in batch:
            step.run(step.date)

    ledger.execute(work)


def summary(plan: Planner, done: LedgerActions, seed: int, events: int) -> DemoSummary:
    """What ``done`` wrote of ``plan`` (loaded with ``seed``; ``events`` written)."""
    apps = [a for a in plan.applications if a.id is not None]
    statuses = Counter(a.status for a in apps)
    return DemoSummary(
        seed=seed,
        scale=plan.scale,
        events=events,
        users=len(done.people),
        enterprises=sum(1 for e in plan.enterprises if e.id is not None),
        budget_lines=len(done.lines),
        estimates=done.actions_done["approve_estimate"],
        closed_years=done.actions_done["close_budget_year"],
        applications=len(apps),
        activities=sum(1 for a in plan.activities if a.id is not None),
        applications_by_status={s: statuses[s] for s in STATUSES if statuses[s]},
        applications_by_project=dict(sorted(Counter(a.project for a in apps).items())),
        applications_by_support_type=dict(sorted(Counter(a.support_type for a in apps).items())),
        actions=dict(sorted(done.actions_done.items())),
        city_budget_assigned=sum(line.assigned for line in done.lines.values()),
        city_budget_committed=sum(line.committed for line in done.lines.values()),
        city_budget_disbursed=done.city_disbursed,
        city_budget_recovered=done.city_recovered,
        city_budget_carried_over=sum(line.carried_out for line in done.lines.values()),
        city_budget_cancelled=sum(line.cancelled for line in done.lines.values()),
    )


def load_demo(
    ledger: Ledger, *, seed: int = 6374, scale: float = 1.0, progress: Progress | None = None
) -> DemoSummary:
    """Load the demo program into ``ledger`` and say what was written.

    The ledger must hold no program yet (users already granted are fine), else
    :class:`DemoError`. ``progress(done, total)`` is called as the steps are carried out.
    Events grow in proportion to ``scale`` (plus a fixed ~160 for users and budget lines).

    If a step is refused, its whole batch is rolled back and the error propagates; the
    batches before it stay written. Discard ``ledger`` then: its aggregate cache may still
    hold aggregates of the rolled-back batch (see the report on ``Ledger.execute``).
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    if program_events(ledger):
        raise DemoError(
            "The ledger already holds a program; the demo loads only into an empty ledger."
        )
    if ledger.estimate_inputs is None:
        raise DemoError(
            "The demo drafts each year's estimate from the read models: install their reader "
            "first (ledger.estimate_inputs, e.g. projections.estimate_inputs.install)."
        )
    before = ledger.count_events()
    rng = random.Random(seed)
    actions = LedgerActions(ledger, rng)
    actions.grant_users()
    plan = Planner(rng, scale, actions.people, actions)
    plan.plan()
    run_steps(ledger, plan.steps, progress)
    return summary(plan, actions, seed, ledger.count_events() - before)
