"""Single-writer domain commands per second, beside the raw library baseline.

Baseline (same engine, same events table, same run): an eventsourcing ``Aggregate`` with one
event — get + trigger + save — as plain library calls, each time on another such aggregate.
Domain: full cycles of the ledger's
commands through the application service — submit, appraise, approve (commits the city-budget
line), sign contract, pay (disburses from the line) — i.e. five commands a cycle, each with
its invariant checks, natural-key claims and one transaction.

Run: ``.venv/bin/python -m bench.commands [--cycles 300] [--backend sqlite|postgresql|both]``.
Figures on a shared 2-core machine are noisy; compare the ratio, which is measured in one run.
"""

from __future__ import annotations

import argparse
import statistics
import uuid
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import CommandCycle, fresh_database, rate
from bench.table import BACKENDS, Figure, Size, label
from ledger.persistence import event_store_env
from ledger.service import Ledger

YEAR = 2015
COMMANDS_PER_CYCLE = len(CommandCycle.STEPS)
#: the goal: domain commands at least this share of the library's rate
GOAL_RATIO = 0.8


class Counter(Aggregate):
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class RawLibrary(Application[uuid.UUID]):
    """The library alone on the same table: the baseline."""

    name = "Ledger"


def baseline(url: str, operations: int) -> float:
    """get + trigger + save of an aggregate that has one event, ``operations`` times."""
    app = RawLibrary(env=event_store_env(url))
    counters = [Counter() for _ in range(operations)]
    for start in range(0, operations, 500):
        app.save(*counters[start : start + 500])
    ids = [counter.id for counter in counters]

    def run() -> None:
        for aggregate_id in ids:
            counter: Any = app.repository.get(aggregate_id)
            counter.increment()
            app.save(counter)

    result = rate(operations, run)
    app.recorder.datastore.engine.dispose()  # type: ignore[attr-defined]
    return result


def domain(url: str, cycles: int) -> float:
    ledger = Ledger(url)
    cycle = CommandCycle(ledger, YEAR, "BENCH")
    for _ in range(COMMANDS_PER_CYCLE):  # warm up
        cycle.step()

    def run() -> None:
        for _ in range(cycles * COMMANDS_PER_CYCLE):
            cycle.step()

    result = rate(cycles * COMMANDS_PER_CYCLE, run)
    ledger.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    print(f"{'backend':<11} {'baseline ops/s':>15} {'domain cmds/s':>14} {'ratio':>6}")
    for backend in backends:
        ratios, bases, domains = [], [], []
        for _ in range(args.rounds):
            with fresh_database(backend) as url:
                base = baseline(url, args.cycles * COMMANDS_PER_CYCLE)
                dom = domain(url, args.cycles)
            bases.append(base)
            domains.append(dom)
            ratios.append(dom / base)
        print(
            f"{backend:<11} {statistics.median(bases):>15.0f} {statistics.median(domains):>14.0f}"
            f" {statistics.median(ratios):>6.2f}"
        )


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: domain commands per second in one process beside the library's
    get + trigger + save on the same table, median of three rounds, each backend."""
    cycles = 100 if size == "quick" else 300
    figures = []
    for backend in BACKENDS:
        bases, domains = [], []
        for _ in range(3):
            with fresh_database(backend) as url:
                bases.append(baseline(url, cycles * COMMANDS_PER_CYCLE))
                domains.append(domain(url, cycles))
        ours, base = statistics.median(domains), statistics.median(bases)
        figures.append(
            Figure(
                label(f"domain commands in process, {cycles} cycles × 5", backend),
                ours,
                "cmds/s",
                base,
                "library get + trigger + save",
                f"≥ {GOAL_RATIO}× the library",
                ours / base >= GOAL_RATIO,
            )
        )
    return figures


if __name__ == "__main__":
    main()
