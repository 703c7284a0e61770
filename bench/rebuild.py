"""Full rebuild of every projection over a large log, beside the raw read of the same log.

Source data: the cached demo logs of :mod:`bench.logs`, copied with their positions into a
fresh, migrated database per backend.

Baseline (same database, same run): every row of ``ledger_events`` in position order through
a streaming SQLAlchemy Core cursor, plus a ``json.loads`` of each row's state (one process).
Measured: a fresh ``Projector(Ledger(url)).rebuild()`` of every read model (every projection
but the Merkle tree, which ``bench.verify`` measures), in one process, then by ``--workers``
worker processes (default: one per core; ``ledger projections rebuild --workers N``). Each
measurement runs in its own subprocess, so the peak resident memory is that measurement's
alone; a parallel rebuild's is that of its process and its workers together, sampled four
times a second (their proportional set sizes added up: a forked worker's pages still shared
with its parent count once).

Live lag: on a small demo database (scale 0.05) a follower process (``Projector.follow``)
runs while this process issues commands at a steady rate (submit / appraise / approve,
round robin); a probe thread reads every projection's position every ~5 ms and records, for
each command, the time from its commit until every projection has folded it.

Run: ``.venv/bin/python -m bench.rebuild [--events 100000,1000000]
[--backend postgresql|sqlite|both] [--workers N] [--lag-seconds 20]``.
Figures on a shared 2-core machine are noisy; the ratio is measured in one run.
The goals (issue 16) are printed, not asserted.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import json
import math
import os
import pstats
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import ROOT, CommandCycle, fresh_database, measure_in_child
from bench.logs import SEED, SourceLog, each_database, note, peak_rss_mib
from bench.table import EVENTS, Figure, Size, at_full_size, label
from demo.run import load_demo
from ledger.service import Ledger
from projections import estimate_inputs, parallel
from projections.projector import Projector
from projections.registry import PROJECTIONS


def cores() -> int:
    return len(os.sched_getaffinity(0))


LAG_SCALE = 0.05
LAG_YEAR = 2025
#: what issue 3 measures: every read model but the Merkle tree
READ_MODELS = [p for p in PROJECTIONS if p.NAME != "merkle"]
DATABASE = "nscl_bench_rebuild"
GOAL_RATIO = 0.5
GOAL_RSS_MIB = 1024
GOAL_LAG_P99_MS = 1000


# -- measurements (each in a subprocess) -----------------------------------------------------


def measure_raw(url: str) -> dict[str, Any]:
    """SELECT every event in position order, streamed, and JSON-decode each state."""
    ledger = Ledger(url)
    t = ledger.events_table
    query = sa.select(t.c.id, t.c.originator_id, t.c.originator_version, t.c.topic, t.c.state)
    query = query.order_by(t.c.id)
    count = 0
    started, cpu = time.perf_counter(), time.process_time()
    with ledger.engine.connect() as connection:
        streaming = connection.execution_options(stream_results=True, yield_per=10_000)
        for row in streaming.execute(query):
            state = row[4]
            json.loads(state if isinstance(state, bytes) else bytes(state))
            count += 1
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {"events": count, "seconds": seconds, "rate": count / seconds, "cpu_seconds": cpu}


def children_cpu() -> float:
    """The processor time of this process's children that have ended (its workers)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _pss_mib(pid: int) -> float:
    """The proportional set size of ``pid`` (its own pages, and its share of those it shares
    with others: a forked worker's pages still shared with its parent count once in all)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


class PeakMemory:
    """The peak of this process's memory and its workers' together, sampled four times a
    second (their proportional set sizes, added up)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            me = os.getpid()
            total = _pss_mib(me) + sum(_pss_mib(c) for c in _children(me))
            self.peak = max(self.peak, total)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def measure_rebuild(url: str, profile: bool, workers: int = 1) -> dict[str, Any]:
    """A fresh projector, then a rebuild of issue 3's read models (the Merkle tree of
    issue 4 is measured by ``bench.verify``), in this process or by ``workers`` worker
    processes (``ledger projections rebuild --workers N``)."""
    ledger = Ledger(url)
    projector = Projector(ledger, projections=READ_MODELS)
    head = ledger.position()
    started = time.perf_counter()
    shown = [0.0]

    def progress(_names: str, position: int, total: int) -> None:
        if total and position / total - shown[0] >= 0.1:
            shown[0] = position / total
            note(f"  rebuild: {position:,}/{total:,} ({time.perf_counter() - started:.0f} s)")

    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    memory = PeakMemory()
    cpu = time.process_time() + children_cpu()
    folded = projector.rebuild(progress=progress, workers=workers)
    cpu = time.process_time() + children_cpu() - cpu
    sampled_peak = memory.stop()
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
    behind = {n: p for n in projector.classes if (p := projector.position(n)) != head}
    tasks = parallel.plan(list(projector.classes.values()), workers, head)
    return {
        "events": folded,
        "seconds": seconds,
        "rate": folded / seconds,
        "projections": list(projector.classes),
        "behind": behind,
        "tasks": len(tasks),
        # the processor time of this process and its workers (not the database server's)
        "cpu_seconds": cpu,
        # this process and its workers together: the peak of their proportional set sizes
        "sampled_peak_mib": sampled_peak,
        # the largest worker's own peak (its resident pages, shared ones included)
        "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def run_follower(url: str) -> dict[str, Any]:
    """Follow until stdin closes (the parent's signal to stop)."""
    projector = Projector(Ledger(url))
    stop = threading.Event()
    thread = threading.Thread(target=projector.follow, args=(stop,), daemon=True)
    thread.start()
    sys.stdin.read()
    stop.set()
    thread.join(timeout=30)
    return {"stopped": not thread.is_alive()}


def child(kind: str, url: str, profile: bool = False, workers: int = 1) -> dict[str, Any]:
    options = [*(["--profile"] if profile else []), "--workers", str(workers)]
    return measure_in_child("bench.rebuild", kind, url, *options)


def peak_mib(rebuilt: dict[str, Any]) -> float:
    """The rebuild's peak memory: its process's own peak, or with workers, the peak of it and
    its workers together (sampled; a forked worker's pages shared with its parent count once)."""
    if rebuilt["tasks"] > 1:
        return max(float(rebuilt["sampled_peak_mib"]), float(rebuilt["peak_rss_mib"]))
    return float(rebuilt["peak_rss_mib"])


# -- live lag --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lag:
    backend: str
    commands: int
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    unresolved: int


def live_lag(backend: str, seconds: float, rate: float) -> Lag:
    with fresh_database(backend, name="nscl_bench_lag") as url:
        ledger = Ledger(url)
        estimate_inputs.install(ledger, Projector(ledger))  # the demo drafts its estimates
        load_demo(ledger, seed=SEED, scale=LAG_SCALE)
        writer = CommandCycle(ledger, LAG_YEAR, "LAG", length=3)  # submit, appraise, approve
        projector = Projector(ledger)  # makes the tracking rows before the follower starts
        names = list(projector.classes)

        def reached() -> int:
            return min(projector.position(name) for name in names)

        follower = subprocess.Popen(
            [sys.executable, "-m", "bench.rebuild", "--measure", "follow", "--url", url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            head, deadline = ledger.position(), time.monotonic() + 300
            while reached() < head:
                if time.monotonic() > deadline or follower.poll() is not None:
                    raise RuntimeError(f"the follower did not catch up to {head}")
                time.sleep(0.05)
            note(f"{backend}: follower caught up with {head:,} events; writing {rate:g}/s")
            pending: collections.deque[tuple[int, float]] = collections.deque()
            lags: list[float] = []
            lock = threading.Lock()
            writing_done = threading.Event()

            def probe() -> None:
                give_up = None
                while True:
                    position = reached()
                    now = time.perf_counter()
                    with lock:
                        while pending and pending[0][0] <= position:
                            lags.append(max(0.0, now - pending.popleft()[1]))
                        empty = not pending
                    if writing_done.is_set():
                        if empty:
                            return
                        give_up = give_up or now + 30
                        if now > give_up:
                            return
                    time.sleep(0.005)

            prober = threading.Thread(target=probe, name="lag-probe")
            prober.start()
            started = time.perf_counter()
            count = 0
            try:
                while (now := time.perf_counter()) - started < seconds:
                    due = started + count / rate
                    if due > now:
                        time.sleep(due - now)
                    position = writer.step().position
                    committed = time.perf_counter()
                    with lock:
                        pending.append((position, committed))
                    count += 1
            finally:
                elapsed = time.perf_counter() - started
                writing_done.set()
                prober.join()
        finally:
            assert follower.stdin is not None
            follower.stdin.close()
            try:
                follower.wait(timeout=60)
            except subprocess.TimeoutExpired:
                follower.kill()
                follower.wait()
            ledger.close()
            ledger.engine.dispose()
    ms = sorted(lag * 1000 for lag in lags)
    p99 = statistics.quantiles(ms, n=100)[98] if len(ms) > 1 else (ms[0] if ms else math.nan)
    return Lag(
        backend,
        count,
        count / elapsed,
        statistics.median(ms) if ms else math.nan,
        p99,
        ms[-1] if ms else math.nan,
        len(pending),
    )


# -- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    backend: str
    events: int
    raw_rate: float
    #: the rebuild in one process
    rate: float
    seconds: float
    rss_mib: float
    raw_rss_mib: float
    #: the rebuild by worker processes (``--workers``), its tasks, its peak with its workers
    workers: int
    tasks: int
    parallel_rate: float
    parallel_seconds: float
    parallel_mib: float
    #: processor time (s) of the raw read, of the rebuild in one process and of the parallel
    #: one with its workers (their own: the database server's is not counted)
    raw_cpu: float
    cpu: float
    parallel_cpu: float

    @property
    def bound(self) -> float:
        """The best ratio the parallel rebuild could reach on ``workers`` idle cores with the
        processor time it took: the raw read's seconds over its processor time per core
        (the database server's time left out, so a bound on the high side)."""
        return self.workers * (self.events / self.raw_rate) / self.parallel_cpu

    @property
    def ratio(self) -> float:
        return self.rate / self.raw_rate

    @property
    def parallel_ratio(self) -> float:
        return self.parallel_rate / self.raw_rate


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def print_goals(rows: list[Row], lags: list[Lag]) -> None:
    print("\ngoals (issue 16; printed, not asserted):")
    for r in rows:
        what = f"{r.backend} {r.events:,}, {r.workers} workers"
        print(
            f"  {what}: ≥ {GOAL_RATIO}× raw: {yes(r.parallel_ratio >= GOAL_RATIO)}"
            f" ({r.parallel_ratio:.2f}×; one process {r.ratio:.2f}×)"
        )
        print(
            f"  {what}: peak ≤ 1 GiB: {yes(r.parallel_mib <= GOAL_RSS_MIB)}"
            f" ({r.parallel_mib:.0f} MiB with its workers; one process {r.rss_mib:.0f} MiB)"
        )
    for lag in lags:
        print(
            f"  {lag.backend} live lag p99 ≤ 1 s: {yes(lag.p99_ms <= GOAL_LAG_P99_MS)}"
            f" ({lag.p99_ms:.0f} ms)"
        )


def measured(backend: str, url: str, workers: int, profile: bool = False) -> Row:
    """The raw read, the rebuild in one process and the rebuild by ``workers`` processes of
    one database, each in a process of its own."""
    raw = child("raw", url)
    note(f"{backend}: raw read {raw['events']:,} events, {raw['rate']:,.0f}/s")
    rebuilt = child("rebuild", url, profile)
    note(
        f"{backend}: rebuild {rebuilt['events']:,} events, {rebuilt['rate']:,.0f}/s,"
        f" {rebuilt['seconds']:.1f} s, {rebuilt['peak_rss_mib']:.0f} MiB"
    )
    split = child("rebuild", url, profile, workers)
    note(
        f"{backend}: rebuild by {workers} workers ({split['tasks']} tasks)"
        f" {split['events']:,} events, {split['rate']:,.0f}/s, {split['seconds']:.1f} s,"
        f" {peak_mib(split):.0f} MiB with its workers"
    )
    for each in (rebuilt, split):
        if each["behind"]:
            note(f"{backend}: projections not at the head after the rebuild: {each['behind']}")
    return Row(
        backend,
        rebuilt["events"],
        raw["rate"],
        rebuilt["rate"],
        rebuilt["seconds"],
        rebuilt["peak_rss_mib"],
        raw["peak_rss_mib"],
        workers,
        split["tasks"],
        split["rate"],
        split["seconds"],
        peak_mib(split),
        raw["cpu_seconds"],
        rebuilt["cpu_seconds"],
        split["cpu_seconds"],
    )


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: the rebuild of every read model by one worker per core, beside
    the raw scan + decode of the same log (one process), each backend."""
    figures = []
    workers = cores()
    for source, backend, url in each_database(str(EVENTS[size]), "both", DATABASE):
        r = measured(backend, url, workers)
        figures.append(
            Figure(
                label(f"rebuild, {workers} workers", backend, source.events)
                + f" (peak {r.parallel_mib:,.0f} MiB with its workers)",
                r.parallel_rate,
                "events/s",
                r.raw_rate,
                "raw scan + decode, one process",
                f"≥ {GOAL_RATIO}× raw, ≤ {GOAL_RSS_MIB} MiB",
                at_full_size(
                    size, r.parallel_ratio >= GOAL_RATIO and r.parallel_mib <= GOAL_RSS_MIB
                ),
            )
        )
        figures.append(
            Figure(
                label("rebuild, one process", backend, source.events)
                + f" (peak {r.rss_mib:,.0f} MiB)",
                r.rate,
                "events/s",
                r.raw_rate,
                "raw scan + decode, one process",
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events",
        default="100000,1000000",
        help="comma-separated event counts (default 100000,1000000)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--lag-seconds", type=float, default=20.0, help="0 skips the lag test")
    parser.add_argument("--lag-rate", type=float, default=20.0, help="commands per second")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--database", default=DATABASE, help="the PostgreSQL database's name")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile each rebuild (slower; stats on stderr)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=cores(),
        help="worker processes of the parallel rebuild (default: one per core)",
    )
    parser.add_argument("--measure", choices=["raw", "rebuild", "follow"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        if args.measure == "raw":
            result = measure_raw(args.url)
        elif args.measure == "rebuild":
            result = measure_rebuild(args.url, args.profile, args.workers)
        else:
            result = run_follower(args.url)
        result["peak_rss_mib"] = peak_rss_mib()
        print(json.dumps(result))
        return

    rows: list[Row] = []
    sources: dict[Path, SourceLog] = {}
    projections: list[str] = []
    for source, backend, url in each_database(args.events, args.backend, args.database, args.seed):
        sources[source.path] = source
        workers = args.workers if args.workers > 1 else cores()
        rows.append(measured(backend, url, workers, args.profile))
        projections = [p.NAME for p in READ_MODELS]
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    lags = [live_lag(b, args.lag_seconds, args.lag_rate) for b in backends if args.lag_seconds]

    print(f"\nsource logs (demo, seed {args.seed}):")
    for s in sources.values():
        how = "reused; generated" if s.reused else "generated"
        print(
            f"  scale {s.scale:g}: {s.events:,} events, {how} in {s.generated_seconds:.0f} s"
            f" ({s.path.relative_to(ROOT)})"
        )
    print(f"\nfull rebuild of {len(projections)} projections ({', '.join(projections)})")
    print(
        f"{'backend':<11} {'events':>10} {'raw ev/s':>10} {'1 process':>10} {'ratio':>6}"
        f" {'seconds':>8} {'MiB':>5} {'workers':>8} {'ev/s':>8} {'ratio':>6} {'seconds':>8}"
        f" {'MiB':>5} {'raw MiB':>8}"
    )
    for r in rows:
        print(
            f"{r.backend:<11} {r.events:>10,} {r.raw_rate:>10,.0f} {r.rate:>10,.0f}"
            f" {r.ratio:>6.2f} {r.seconds:>8.1f} {r.rss_mib:>5.0f} {r.workers:>8}"
            f" {r.parallel_rate:>8,.0f} {r.parallel_ratio:>6.2f} {r.parallel_seconds:>8.1f}"
            f" {r.parallel_mib:>5.0f} {r.raw_rss_mib:>8.0f}"
        )
    print(
        f"\nprocessor time (s), this process and its workers, not the database server's"
        f"\n{'backend':<11} {'events':>10} {'raw':>6} {'1 process':>10} {'workers':>8}"
        f" {'bound on idle cores':>20}"
    )
    for r in rows:
        print(
            f"{r.backend:<11} {r.events:>10,} {r.raw_cpu:>6.1f} {r.cpu:>10.1f}"
            f" {r.parallel_cpu:>8.1f} {r.bound:>19.2f}×"
        )
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"load average (1, 5, 15 min) at the end: {load}")
    if lags:
        print(
            f"\nlive lag, commit → every projection folded ({args.lag_seconds:g} s at"
            f" {args.lag_rate:g} commands/s; demo scale {LAG_SCALE:g}; follower in its own"
            f" process)"
        )
        print(
            f"{'backend':<11} {'commands':>9} {'cmds/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
            f" {'max ms':>7} {'unfolded':>9}"
        )
        for lag in lags:
            print(
                f"{lag.backend:<11} {lag.commands:>9} {lag.rate:>7.1f} {lag.p50_ms:>7.0f}"
                f" {lag.p99_ms:>7.0f} {lag.max_ms:>7.0f} {lag.unresolved:>9}"
            )
    print_goals(rows, lags)


if __name__ == "__main__":
    main()
