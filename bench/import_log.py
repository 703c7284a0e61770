"""``ledger import`` of an event-log file, phase by phase, beside a raw COPY of the same rows.

Source data: the cached demo logs of :mod:`bench.logs`, exported once to an event-log file
(``ledger export events``'s format) with a checkpoint of the whole file signed by a key made
for it, cached beside the log (``var/bench/…-events.jsonl``, ``…-events.checkpoint.json``).

Measured (each in its own subprocess, in a fresh, migrated, empty database):

- **ours**: what ``ledger import`` does, phase by phase: *verify* (the emptiness check, then
  every leaf, the positions, the root and the checkpoint's signature, before anything is
  written: :func:`ledger.event_log.check_file`), *load* (the one transaction: the file read
  again and its root checked again, the events written with COPY on PostgreSQL and
  ``executemany`` on SQLite, the positions proved 1..N: :func:`ledger.event_log.load`),
  *rebuild* (every read model folded from the log in bulk: ``Projector.rebuild()``), and the
  total;
- **baseline** (same run, same backend): the same rows, already in the driver's form, written
  into a bare copy of the events table (its columns, primary key and unique index, no
  triggers) in one transaction: PostgreSQL's COPY from a file of COPY text made beforehand,
  SQLite's ``executemany`` of tuples made beforehand. Only the database's own work is timed.
- **the position trigger** (PostgreSQL, for the record): the same COPY text into the real
  events table with migration 0005's ``BEFORE INSERT`` trigger on (rolled back): what
  keeping the trigger on for an import would cost.

Run: ``.venv/bin/python -m bench.import_log [--events 100000,1000000]
[--backend postgresql|sqlite|both] [--profile]``. Figures on a shared 2-core machine are
noisy (the import process's CPU time is printed beside each phase's time); the ratios are
measured in one run. The goals (issue 16) are printed, not asserted: the load at ≥ 0.3× the
raw COPY (PostgreSQL), and ≥ 50,000 events/s at 1M events, judged on the load, the phase the
goal "import at COPY speed" is about (the verification before it is the offline verifier's;
verify + load is printed beside it; the read models' rebuild is issue 16's third
deliverable, with its own benchmark, ``bench.rebuild``).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import fcntl
import json
import os
import pstats
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import ROOT, fresh_database, measure_in_child
from bench.logs import SEED, SourceLog, note, peak_rss_mib, source_log
from bench.table import BACKENDS, EVENTS, Figure, Size, at_full_size, label
from ledger import checkpoint as cp
from ledger import event_log
from ledger.service import Ledger
from projections.projector import Projector

DATABASE = "nscl_bench_import"
GOAL_RATIO = 0.3
GOAL_RATE = 50_000
#: the events each size of ``make bench`` imports

BARE = "bench_bare_events"
COLUMNS = ("id", "originator_id", "originator_version", "topic", "state")


# -- the source file -------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFile:
    """An exported event-log file, its checkpoint and the public key that signed it."""

    path: Path
    checkpoint: Path
    public_key: str  # base64
    events: int
    source: SourceLog


def log_file(events: int, seed: int = SEED) -> LogFile:
    """The first ``events`` events of the cached demo log exported to a file with a signed
    checkpoint (made once, cached beside the log; the cached log itself is only read)."""
    source = source_log(events, seed)
    stem = source.path.with_suffix("").name + f"-events{events}"
    path = source.path.with_name(stem + ".jsonl")
    held = source.path.with_name(stem + ".checkpoint.json")
    with source.path.with_name(stem + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be writing this very file
        if not (path.exists() and held.exists()):
            _export(source.path, events, path, held)
    made = json.loads(held.read_text())
    return LogFile(path, held, made["public_key"], made["checkpoint"]["tree_size"], source)


def _export(database: Path, events: int, path: Path, held: Path) -> None:
    note(f"exporting the first {events:,} events of {database.name} to {path.name}")
    started = time.perf_counter()
    engine = sa.create_engine(f"sqlite:///file:{database}?mode=ro&uri=true")
    table = sa.Table("ledger_events", sa.MetaData(), autoload_with=engine)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            done = event_log.export(engine, table, out, events, None)
    finally:
        engine.dispose()
    key = Ed25519PrivateKey.generate()
    signed = cp.sign(key, done.checked, bytes.fromhex(done.root_hash), "bench.import_log")
    public = base64.b64encode(cp.raw_public(key)).decode()
    partial.rename(path)
    held.write_text(json.dumps({"checkpoint": signed.to_json(), "public_key": public}))
    note(f"exported {done.checked:,} events in {time.perf_counter() - started:.0f} s")


def _checkpoint(held: str) -> tuple[cp.Checkpoint, bytes]:
    made = json.loads(Path(held).read_text())
    return cp.Checkpoint.from_json(made["checkpoint"]), base64.b64decode(made["public_key"])


# -- measurements (each in a subprocess) -----------------------------------------------------


def measure_import(url: str, path: str, held: str, profile: bool) -> dict[str, Any]:
    """``ledger import``'s work, each phase timed."""
    checkpoint, public_key = _checkpoint(held)
    ledger = Ledger(url)
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    event_log.refuse_unless_empty(ledger.engine, ledger.events_table)
    verified = event_log.check_file(path, checkpoint, public_key)
    checked, cpu_checked = time.perf_counter(), time.process_time()
    loaded = event_log.load(ledger.engine, ledger.events_table, path, checkpoint)
    written, cpu_written = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(20)
    folded = Projector(ledger).rebuild()
    done = time.perf_counter()
    with ledger.engine.connect() as connection:
        stored = connection.execute(
            sa.select(sa.func.count()).select_from(ledger.events_table)
        ).scalar_one()
    ledger.engine.dispose()
    return {
        "events": loaded,
        "stored": stored,
        "folded": folded,
        "root_ok": verified.root_hash == checkpoint.root_hash,
        # this process's CPU time (not the database server's): what the phase would take
        # on a core of its own
        "verify_cpu_seconds": cpu_checked - cpu_started,
        "load_cpu_seconds": cpu_written - cpu_checked,
        "verify_seconds": checked - started,
        "load_seconds": written - checked,
        "rebuild_seconds": done - written,
        "total_seconds": done - started,
    }


def _rows(path: str) -> Iterator[tuple[int, Any, int, str, bytes]]:
    _, entries = event_log.read(path)
    for entry in entries:
        assert isinstance(entry, event_log.LoggedEvent), "the demo logs hold no holes"
        yield (
            entry.position,
            entry.originator_id,
            entry.originator_version,
            entry.topic,
            entry.state,
        )


def _copy_text(topic: str) -> str:
    return topic.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def measure_raw(url: str, path: str) -> dict[str, Any]:
    """The baseline: the same rows, made beforehand in the driver's form, into a bare copy of
    the events table in one transaction; on PostgreSQL also into the events table itself with
    its position trigger on (rolled back)."""
    names = ", ".join(COLUMNS)
    engine = sa.create_engine(url)
    result: dict[str, Any] = {}
    try:
        if engine.dialect.name == "postgresql":
            with tempfile.TemporaryDirectory(prefix="h16import-") as directory:
                text = Path(directory) / "rows.copy"
                with text.open("w") as out:
                    for id_, originator, version, topic, state in _rows(path):
                        out.write(f"{id_}\t{originator}\t{version}\t{_copy_text(topic)}\t")
                        out.write(f"\\\\x{state.hex()}\n")
                        result["events"] = id_
                with engine.begin() as connection:
                    connection.exec_driver_sql(
                        f"CREATE TABLE {BARE} (LIKE ledger_events INCLUDING ALL)"
                    )
                for target, keep in ((BARE, True), ("ledger_events", False)):
                    raw: Any = engine.raw_connection()
                    try:
                        cursor = raw.cursor()
                        started = time.perf_counter()
                        with text.open() as lines:
                            cursor.copy_expert(
                                f"COPY {target} ({names}) FROM STDIN", lines, size=1 << 20
                            )
                        if keep:
                            raw.commit()
                        seconds = time.perf_counter() - started
                        if not keep:
                            raw.rollback()
                    finally:
                        raw.close()
                    key = "raw_seconds" if keep else "trigger_seconds"
                    result[key] = seconds
        else:
            database = sa.engine.make_url(url).database
            assert database is not None
            rows = [
                (id_, originator.bytes, version, topic, state)
                for id_, originator, version, topic, state in _rows(path)
            ]
            result["events"] = len(rows)
            db = sqlite3.connect(database, isolation_level=None)
            try:
                for (sql,) in db.execute(
                    "SELECT sql FROM sqlite_master WHERE tbl_name = 'ledger_events' "
                    "AND sql IS NOT NULL AND type IN ('table', 'index') ORDER BY type DESC"
                ):
                    db.execute(sql.replace("ledger_events", BARE))
                marks = ", ".join("?" for _ in COLUMNS)
                started = time.perf_counter()
                db.execute("BEGIN")
                db.executemany(f"INSERT INTO {BARE} ({names}) VALUES ({marks})", rows)
                db.execute("COMMIT")
                result["raw_seconds"] = time.perf_counter() - started
            finally:
                db.close()
    finally:
        engine.dispose()
    return result


def child(kind: str, url: str, log: LogFile, profile: bool = False) -> dict[str, Any]:
    options = ["--file", str(log.path), "--checkpoint-file", str(log.checkpoint)]
    return measure_in_child(
        "bench.import_log", kind, url, *options, *(["--profile"] if profile else [])
    )


# -- one size on one backend -----------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    backend: str
    events: int
    raw_seconds: float
    trigger_seconds: float | None
    verify_seconds: float
    load_seconds: float
    rebuild_seconds: float
    total_seconds: float
    peak_rss_mib: float
    verify_cpu_seconds: float
    load_cpu_seconds: float

    def rate(self, seconds: float) -> float:
        return self.events / seconds

    @property
    def ratio(self) -> float:
        """The load beside the raw write of the same rows (above 1: faster)."""
        return self.raw_seconds / self.load_seconds

    @property
    def import_rate(self) -> float:
        """Verify + load: a verified copy of the log in the database."""
        return self.rate(self.verify_seconds + self.load_seconds)


def measure(backend: str, log: LogFile, profile: bool = False) -> Run:
    with fresh_database(backend, name=DATABASE) as url:
        raw = child("raw", url, log)
    note(f"{backend}: raw write of {raw['events']:,} rows in {raw['raw_seconds']:.2f} s")
    with fresh_database(backend, name=DATABASE) as url:
        ours = child("import", url, log, profile)
    if not (ours["root_ok"] and ours["stored"] == ours["events"] == log.events):
        raise RuntimeError(f"the import did not give the file's events: {ours}")
    note(
        f"{backend}: verify {ours['verify_seconds']:.2f} s, load {ours['load_seconds']:.2f} s,"
        f" rebuild {ours['rebuild_seconds']:.2f} s"
    )
    return Run(
        backend,
        ours["events"],
        raw["raw_seconds"],
        raw.get("trigger_seconds"),
        ours["verify_seconds"],
        ours["load_seconds"],
        ours["rebuild_seconds"],
        ours["total_seconds"],
        ours["peak_rss_mib"],
        ours["verify_cpu_seconds"],
        ours["load_cpu_seconds"],
    )


# -- the table -------------------------------------------------------------------------------


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def print_runs(runs: list[Run]) -> None:
    load = os.getloadavg()
    print(f"\nledger import, phase by phase (load average {load[0]:.2f} {load[1]:.2f})")
    print(
        f"{'backend':<11} {'events':>10} {'phase':<22} {'seconds':>8} {'events/s':>10} {'ratio':>6}"
    )
    for r in runs:
        lines = [
            ("raw write (baseline)", r.raw_seconds, None),
            *(
                [("COPY, trigger on", r.trigger_seconds, r.raw_seconds / r.trigger_seconds)]
                if r.trigger_seconds
                else []
            ),
            ("verify", r.verify_seconds, None),
            ("load", r.load_seconds, r.ratio),
            ("verify + load", r.verify_seconds + r.load_seconds, None),
            ("rebuild", r.rebuild_seconds, None),
            ("total", r.total_seconds, None),
        ]
        for phase, seconds, ratio in lines:
            shown = "" if ratio is None else f"{ratio:.2f}"
            print(
                f"{r.backend:<11} {r.events:>10,} {phase:<22} {seconds:>8.2f}"
                f" {r.rate(seconds):>10,.0f} {shown:>6}"
            )
        print(
            f"{r.backend:<11} {r.events:>10,} the import process's CPU: verify"
            f" {r.verify_cpu_seconds:.2f} s ({r.rate(r.verify_cpu_seconds):,.0f} events/s),"
            f" load {r.load_cpu_seconds:.2f} s ({r.rate(r.load_cpu_seconds):,.0f} events/s);"
            f" peak memory {r.peak_rss_mib:.0f} MiB"
        )


def print_goals(runs: list[Run]) -> None:
    print("\ngoals (issue 16; printed, not asserted; see the module's documentation):")
    for r in runs:
        what = f"{r.backend} {r.events:,}"
        if r.backend == "postgresql":
            print(
                f"  {what}: load ≥ {GOAL_RATIO}× the raw COPY: {yes(r.ratio >= GOAL_RATIO)}"
                f" ({r.ratio:.2f}×)"
            )
        load = r.rate(r.load_seconds)
        judged = "" if r.events >= 1_000_000 else " (the goal is set at 1M events)"
        print(
            f"  {what}: load ≥ {GOAL_RATE:,} events/s: {yes(load >= GOAL_RATE)} ({load:,.0f};"
            f" the raw write {r.rate(r.raw_seconds):,.0f}; verify + load"
            f" {r.import_rate:,.0f}){judged}"
        )


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: the import's load beside a raw COPY (PostgreSQL) or executemany
    (SQLite) of the same rows into a bare table, and, for information, verify + load and the
    whole import with the read models' rebuild, each backend."""
    log = log_file(EVENTS[size])
    figures: list[Figure] = []
    for backend in BACKENDS:
        r = measure(backend, log)
        load = r.rate(r.load_seconds)
        fast = at_full_size(size, load >= GOAL_RATE)
        if backend == "postgresql":
            goal = f"≥ {GOAL_RATIO}× raw COPY; ≥ {GOAL_RATE:,} events/s at 1M"
            met: bool | None = r.ratio >= GOAL_RATIO and fast is not False
            raw = "raw COPY"
        else:
            goal, met, raw = f"≥ {GOAL_RATE:,} events/s at 1M", fast, "raw executemany"
        figures.append(
            Figure(
                label("import: load", backend, r.events),
                load,
                "events/s",
                r.rate(r.raw_seconds),
                f"{raw} of the same rows, bare table",
                goal,
                met,
            )
        )
        figures.append(Figure(label("import: verify + load", backend), r.import_rate, "events/s"))
        figures.append(
            Figure(
                label("import: all, the read models rebuilt", backend),
                r.rate(r.total_seconds),
                "events/s",
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--events",
        default="100000,1000000",
        help="comma-separated event counts (default 100000,1000000)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile verify + load (stats on stderr)"
    )
    parser.add_argument("--measure", choices=["raw", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint-file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        if args.measure == "raw":
            result = measure_raw(args.url, args.file)
        else:
            result = measure_import(args.url, args.file, args.checkpoint_file, args.profile)
        result["peak_rss_mib"] = peak_rss_mib()
        print(json.dumps(result))
        return

    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    runs: list[Run] = []
    logs: list[LogFile] = []
    for wanted in (int(n.replace("_", "")) for n in args.events.split(",") if n.strip()):
        log = log_file(wanted, args.seed)
        logs.append(log)
        runs.extend(measure(backend, log, args.profile) for backend in backends)
    print(f"\nsource files (demo, seed {args.seed}):")
    for log in logs:
        size = log.path.stat().st_size / 2**20
        print(
            f"  {log.events:,} events, {size:,.0f} MiB: {log.path.relative_to(ROOT)}"
            f" (of scale {log.source.scale:g}, {log.source.events:,} events)"
        )
    print_runs(runs)
    print_goals(runs)


if __name__ == "__main__":
    main()
