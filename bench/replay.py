"""Replay of the whole ledger as known at a time, beside the raw read of the same log.

Source data: the cached demo logs of ``bench.rebuild`` (``var/bench/``; the 1M-event log is
generated first if missing, which takes many minutes), copied into a fresh, migrated database
per backend (its own database, ``nscl_bench_replay``, so it can run beside the other
benchmarks), with its own empty directory of replay snapshots.

The moment: the recorded time of the event at 99 % of the log, so almost the whole log is
replayed (and the replay must find where that moment falls).

Baseline (same database, same run): ``bench.rebuild``'s raw read, every row of
``ledger_events`` in position order through a streaming SQLAlchemy Core cursor plus a
``json.loads`` of each state.

Measured, each in its own subprocess (so its peak resident memory is its own):

1. *prepare*, once per log: the live Merkle tree brought up to the head (what the
   snapshots are checked against), then the replay snapshots made
   (``projections.replay.prepare_snapshots``, one every ``LEDGER_REPLAY_SNAPSHOT_EVERY``
   events). A deployment does this once and then only for new events; the first replay
   that needs a snapshot makes it otherwise.
2. *replay*: ``replay(ledger, known_at=moment)`` of every projection a report reads (all
   but the Merkle tree, whose past sizes are read from the live tree), into a throw-away
   store, starting from the nearest snapshot; and the time to resolve the moment to a
   position alone. This is the goal's figure.
3. *from the first event*: the same replay without snapshots (``snapshots=False``).
4. *spend*: the project-spend report's projection alone, from its snapshot (what
   ``GET /api/reports/project-spend?as_known_at=…`` does on a cache miss).

Run: ``.venv/bin/python -m bench.replay [--events 100000,1000000]
[--backend postgresql|sqlite|both] [--skip-scratch]``. Figures on a shared 2-core machine
are noisy; compare with the baseline of the same run. The goals (issue 4: the whole ledger
as known at a time over 1M events in ≤ 10 s, peak memory ≤ 1 GiB) are printed, not asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, measure_in_child
from bench.logs import CACHE, SEED, SourceLog, each_database, note, peak_rss_mib
from bench.rebuild import measure_raw, yes
from bench.table import EVENTS, Figure, Size, at_full_size, label
from ledger import settings
from ledger.service import Ledger
from projections import snapshots
from projections.checkpoints import catch_up_tree
from projections.projector import Projector
from projections.registry import BY_NAME
from projections.replay import position_known_at, prepare_snapshots, replay
from projections.snapshots import snapshotted
from projections.source import read_batch

GOAL_SECONDS_1M = 10.0
GOAL_RSS_MIB = 1024
#: the moment replayed: the recorded time of the event at this fraction of the log
AT = 0.99
DATABASE = "nscl_bench_replay"


def moment_near_the_end(url: str) -> dt.datetime:
    """The recorded time of the event at :data:`AT` of the log."""
    ledger = Ledger(url)
    try:
        position = max(1, int(ledger.position() * AT))
        with ledger.engine.connect() as connection:
            [envelope] = read_batch(ledger, connection, position - 1, 1)
        moment: dt.datetime = envelope.event.timestamp
        return moment
    finally:
        ledger.engine.dispose()


# -- measurements (each in a subprocess) -----------------------------------------------------


def measure_prepare(url: str) -> dict[str, Any]:
    """Bring the live Merkle tree up to the head, then make the replay snapshots."""
    ledger = Ledger(url)
    started = time.perf_counter()
    catch_up_tree(Projector(ledger, projections=[BY_NAME["merkle"]]))
    tree_seconds = time.perf_counter() - started
    started = time.perf_counter()
    last = prepare_snapshots(ledger)
    seconds = time.perf_counter() - started
    ledger.engine.dispose()
    return {"tree_seconds": tree_seconds, "seconds": seconds, "last": last}


def measure_replay(
    url: str, known_at: str, names: list[str], profile: bool, from_snapshots: bool = True
) -> dict[str, Any]:
    """Resolve the moment to a position, then replay ``names`` as known at it."""
    ledger = Ledger(url)
    moment = dt.datetime.fromisoformat(known_at)
    started = time.perf_counter()
    position = position_known_at(ledger, moment)
    resolved = time.perf_counter() - started
    shown = [0.0]

    def progress(_label: str, reached: int, upto: int) -> None:
        if upto and reached / upto - shown[0] >= 0.1:
            shown[0] = reached / upto
            note(f"  replay: {reached:,}/{upto:,} ({time.perf_counter() - started:.0f} s)")

    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    started = time.perf_counter()
    past = replay(
        ledger,
        known_at=moment,
        names=names,
        snapshots=from_snapshots,
        progress=progress if len(names) > 1 else None,
    )
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(20)
    reached = {name: past.position(name) for name in past.classes}
    past.engine.dispose()
    return {
        "events": position,
        "seconds": seconds,
        "rate": position / seconds,
        "resolve_seconds": resolved,
        "projections": list(reached),
        "reached": sorted(set(reached.values())),
    }


def child(kind: str, url: str, known_at: str = "", profile: bool = False) -> dict[str, Any]:
    options = (["--known-at", known_at] if known_at else []) + (["--profile"] if profile else [])
    return measure_in_child("bench.replay", kind, url, *options)


# -- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    backend: str
    log_events: int
    replayed: int
    raw_rate: float
    rate: float
    seconds: float
    resolve_seconds: float
    rss_mib: float
    raw_rss_mib: float
    spend_seconds: float
    spend_rss_mib: float
    prepare: dict[str, Any]
    scratch: dict[str, Any] | None

    @property
    def ratio(self) -> float:
        return self.rate / self.raw_rate

    @property
    def seconds_per_1m(self) -> float:
        return self.seconds / self.replayed * 1_000_000


def print_goals(rows: list[Row]) -> None:
    print("\ngoals (issue 4; printed, not asserted):")
    for r in rows:
        what = f"{r.backend} {r.log_events:,}"
        if r.log_events >= 1_000_000:
            print(
                f"  {what}: 1M as known at a time in ≤ {GOAL_SECONDS_1M:g} s:"
                f" {yes(r.seconds_per_1m <= GOAL_SECONDS_1M)} ({r.seconds:.1f} s for"
                f" {r.replayed:,})"
            )
        else:
            print(
                f"  {what}: 1M as known at a time in ≤ {GOAL_SECONDS_1M:g} s: not measured"
                f" here (at this rate 1M ≈ {r.seconds_per_1m:.1f} s)"
            )
        print(f"  {what}: peak ≤ 1 GiB: {yes(r.rss_mib <= GOAL_RSS_MIB)} ({r.rss_mib:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events",
        default="100000,1000000",
        help="comma-separated event counts (default 100000,1000000)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile each full replay (stats on stderr)"
    )
    parser.add_argument(
        "--skip-scratch",
        action="store_true",
        help="leave out the replay from the first event (slow at 1M)",
    )
    parser.add_argument(
        "--measure",
        choices=["raw", "prepare", "replay", "scratch", "spend"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--known-at", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        every = [cls.NAME for cls in snapshotted()]
        if args.measure == "raw":
            result = measure_raw(args.url)
        elif args.measure == "prepare":
            result = measure_prepare(args.url)
        elif args.measure == "replay":
            result = measure_replay(args.url, args.known_at, every, args.profile)
        elif args.measure == "scratch":
            result = measure_replay(args.url, args.known_at, every, args.profile, False)
        else:
            result = measure_replay(args.url, args.known_at, ["project_spend"], False)
        result["peak_rss_mib"] = peak_rss_mib()
        print(json.dumps(result))
        return

    rows: list[Row] = []
    sources: dict[Path, SourceLog] = {}
    for source, backend, url in each_database(args.events, args.backend, DATABASE, args.seed):
        sources[source.path] = source
        moment = moment_near_the_end(url).isoformat()
        raw = child("raw", url)
        note(f"{backend}: raw read {raw['events']:,} events, {raw['rate']:,.0f}/s")
        CACHE.mkdir(parents=True, exist_ok=True)
        directory = tempfile.mkdtemp(prefix="replay-snapshots-", dir=CACHE)
        os.environ[settings.REPLAY_DIR.name] = directory  # the children's, empty
        try:
            prepared = child("prepare", url)
            note(
                f"{backend}: tree {prepared['tree_seconds']:.1f} s, snapshots up to"
                f" {prepared['last']:,} in {prepared['seconds']:.1f} s"
                f" ({prepared['peak_rss_mib']:.0f} MiB)"
            )
            done, spend, scratch = measure_replays(url, moment, args, backend)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        rows.append(
            Row(
                backend,
                source.events,
                done["events"],
                raw["rate"],
                done["rate"],
                done["seconds"],
                done["resolve_seconds"],
                done["peak_rss_mib"],
                raw["peak_rss_mib"],
                spend["seconds"],
                spend["peak_rss_mib"],
                prepared,
                scratch,
            )
        )

    print_table(rows, sources, args.seed)


def measure_replays(
    url: str, moment: str, args: argparse.Namespace, backend: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The replay from the snapshots, project spend alone, and (unless skipped) the replay
    from the first event."""
    done = child("replay", url, moment, args.profile)
    note(
        f"{backend}: replay as known at {moment}: {done['events']:,} events,"
        f" {done['seconds']:.1f} s (resolving the time {done['resolve_seconds']:.2f}"
        f" s), {done['peak_rss_mib']:.0f} MiB"
    )
    spend = child("spend", url, moment)
    note(
        f"{backend}: project_spend alone: {spend['seconds']:.1f} s, {spend['peak_rss_mib']:.0f} MiB"
    )
    scratch = None
    if not args.skip_scratch:
        scratch = child("scratch", url, moment)
        note(
            f"{backend}: from the first event: {scratch['seconds']:.1f} s,"
            f" {scratch['peak_rss_mib']:.0f} MiB"
        )
    return done, spend, scratch


def print_table(rows: list[Row], sources: dict[Path, SourceLog], seed: int) -> None:
    print(f"\nsource logs (demo, seed {seed}):")
    for s in sources.values():
        how = "reused; generated" if s.reused else "generated"
        print(
            f"  scale {s.scale:g}: {s.events:,} events, {how} in {s.generated_seconds:.0f} s"
            f" ({s.path.relative_to(ROOT)})"
        )
    names = ", ".join(cls.NAME for cls in snapshotted())
    every = snapshots.every_setting()
    print(
        f"\nreplay as known at the time of the event at {AT:.0%} of the log, every projection"
        f" a report reads ({names}), into a throw-away store, from the nearest snapshot"
        f" (one every {every:,} events); 'first ev. s': the same from the first"
        " event"
    )
    print(
        f"{'backend':<11} {'events':>10} {'replayed':>10} {'raw ev/s':>10} {'replay ev/s':>12}"
        f" {'ratio':>6} {'seconds':>8} {'resolve s':>9} {'peak MiB':>9} {'raw MiB':>8}"
        f" {'spend s':>8} {'spend MiB':>9} {'first ev. s':>11}"
    )
    for r in rows:
        scratch = f"{r.scratch['seconds']:>11.1f}" if r.scratch else f"{'-':>11}"
        print(
            f"{r.backend:<11} {r.log_events:>10,} {r.replayed:>10,} {r.raw_rate:>10,.0f}"
            f" {r.rate:>12,.0f} {r.ratio:>6.2f} {r.seconds:>8.1f} {r.resolve_seconds:>9.2f}"
            f" {r.rss_mib:>9.0f} {r.raw_rss_mib:>8.0f} {r.spend_seconds:>8.1f}"
            f" {r.spend_rss_mib:>9.0f} {scratch}"
        )
    print("\nonce per log: the live Merkle tree brought up to the head, then the snapshots made")
    print(
        f"{'backend':<11} {'events':>10} {'tree s':>8} {'snapshots s':>12} {'up to':>10}"
        f" {'peak MiB':>9}"
    )
    for r in rows:
        p = r.prepare
        print(
            f"{r.backend:<11} {r.log_events:>10,} {p['tree_seconds']:>8.1f}"
            f" {p['seconds']:>12.1f} {p['last']:>10,} {p['peak_rss_mib']:>9.0f}"
        )
    print_goals(rows)


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: the whole ledger as known at a time (from the nearest snapshot,
    made first), beside the raw read + decode, each backend."""
    figures = []
    for source, backend, url in each_database(str(EVENTS[size]), "both", DATABASE):
        moment = moment_near_the_end(url).isoformat()
        raw = child("raw", url)
        CACHE.mkdir(parents=True, exist_ok=True)
        directory = tempfile.mkdtemp(prefix="replay-snapshots-", dir=CACHE)
        os.environ[settings.REPLAY_DIR.name] = directory  # the children's, empty
        try:
            child("prepare", url)
            done = child("replay", url, moment)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
            os.environ.pop(settings.REPLAY_DIR.name, None)
        rate_goal = 1_000_000 / GOAL_SECONDS_1M
        figures.append(
            Figure(
                label("replay every report's projection as known at a time", backend)
                + f", {done['events']:,} of {source.events:,} events"
                + f" (peak {done['peak_rss_mib']:,.0f} MiB)",
                done["rate"],
                "events/s",
                raw["rate"],
                "raw read + decode",
                f"1M in ≤ {GOAL_SECONDS_1M:g} s (≥ {rate_goal:,.0f} events/s), "
                f"≤ {GOAL_RSS_MIB} MiB",
                at_full_size(
                    size, done["rate"] >= rate_goal and done["peak_rss_mib"] <= GOAL_RSS_MIB
                ),
            )
        )
    return figures


if __name__ == "__main__":
    main()
