"""The benchmarks' source data: the demo program's event log at the scale that gives the
events asked for, generated once into a cached SQLite file under ``var/bench/`` (named by seed
and scale, reused when present), and copied with its positions into a fresh database per
measurement: on PostgreSQL with ``COPY FROM``, on SQLite with ``INSERT … SELECT`` from the
attached cache file (a fresh database rather than a copy of the file, so the projection
tables are always those of the current migrations).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import math
import resource
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import ROOT, fresh_database
from demo.run import VERSION as DEMO_VERSION
from demo.run import load_demo
from ledger.service import Ledger
from projections import estimate_inputs
from projections.projector import Projector

CACHE = ROOT / "var" / "bench"
SEED = 6374
#: Events per unit of demo scale, on the low side (measured ≈ 32,200 at scale 1), so that the
#: first guess of the scale gives at least the requested events; plus the fixed part.
EVENTS_PER_SCALE = 31_000
FIXED_EVENTS = 400


def note(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(f"  · {message}", file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    """This process's peak resident memory. ``VmHWM`` rather than ``ru_maxrss``: Linux keeps
    ``ru_maxrss`` across fork + exec, so a child would report the parent's peak if higher."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- source data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLog:
    path: Path
    scale: float
    events: int
    generated_seconds: float
    reused: bool


def cache_path(seed: int, scale: float) -> Path:
    """The cached log of the demo at ``seed`` and ``scale``, named by the demo's version too:
    a log made by another version of the demo is never reused."""
    return CACHE / f"demo-v{DEMO_VERSION}-seed{seed}-scale{scale:g}.sqlite"


def first_scale(events: int) -> float:
    return math.ceil(max(events - FIXED_EVENTS, 1) / EVENTS_PER_SCALE * 100) / 100


def source_log(events: int, seed: int = SEED) -> SourceLog:
    """The cached demo log with at least ``events`` events (generated if missing)."""
    scale = first_scale(events)
    while True:
        path = cache_path(seed, scale)
        info = path.with_suffix(".json")
        CACHE.mkdir(parents=True, exist_ok=True)
        with path.with_suffix(".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another benchmark may be making this very log
            log = _cached_or_generated(path, info, seed, scale)
        if log.events >= events:
            return log
        scale = math.ceil(scale * events / log.events * 1.01 * 100) / 100
        note(f"{log.events:,} events < {events:,}: trying scale {scale:g}")


def _cached_or_generated(path: Path, info: Path, seed: int, scale: float) -> SourceLog:
    if not (path.exists() and info.exists()):
        return generate(path, seed, scale)
    made = json.loads(info.read_text())
    log = SourceLog(path, scale, made["events"], made["seconds"], reused=True)
    note(
        f"reusing {path.relative_to(ROOT)}: {log.events:,} events "
        f"(generated in {log.generated_seconds:.0f} s)"
    )
    return log


def generate(path: Path, seed: int, scale: float) -> SourceLog:
    """Load the demo at ``scale`` into a new SQLite file (renamed into place when done)."""
    import migrations

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    url = f"sqlite:///{partial}"
    migrations.upgrade(url)
    # A bigger aggregate cache saves re-reading aggregates at large scales; the file is a
    # throw-away cache until renamed, so it needs no fsync. It keeps the write-ahead log: the
    # demo's drafts read the read models on other connections while it writes.
    ledger = Ledger(url, env={"LEDGER_AGGREGATE_CACHE_SIZE": "200000"})

    def fast(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    sa.event.listen(ledger.engine, "connect", fast)
    ledger.engine.dispose()
    note(f"generating the demo at scale {scale:g} (seed {seed}) into {path.relative_to(ROOT)}")
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if done not in (0, total) and now - last[0] < 15:
            return
        last[0] = now
        elapsed = now - started
        eta = elapsed / done * (total - done) if done else float("nan")
        note(
            f"  {done:,}/{total:,} steps, {ledger.position():,} events, {elapsed:.0f} s"
            f" elapsed, ~{eta:.0f} s to go"
        )

    estimate_inputs.install(ledger, Projector(ledger))  # the demo drafts its estimates
    summary = load_demo(ledger, seed=seed, scale=scale, progress=progress)
    seconds = time.perf_counter() - started
    events = ledger.position()
    ledger.close()
    ledger.engine.dispose()
    partial.rename(path)
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "demo_version": DEMO_VERSION,
                "seed": seed,
                "scale": scale,
                "events": events,
                "seconds": seconds,
                "applications": summary.applications,
            },
            indent=1,
        )
    )
    note(f"generated {events:,} events in {seconds:.0f} s ({events / seconds:,.0f} events/s)")
    return SourceLog(path, scale, events, seconds, reused=False)


COLUMNS = "id, originator_id, originator_version, topic, state"


def import_postgresql(source: Path, url: str, chunk: int = 50_000, upto: int | None = None) -> int:
    """COPY the cached events, ids (positions) included (each one the next position, as the
    events table's trigger requires); only the first ``upto`` if given."""
    engine = sa.create_engine(url)
    raw = engine.raw_connection()
    src = sqlite3.connect(source)
    count = 0
    try:
        cursor = raw.cursor()
        rows = src.execute(
            f"SELECT {COLUMNS} FROM ledger_events WHERE id <= ? ORDER BY id", (upto or 2**62,)
        )
        while batch := rows.fetchmany(chunk):
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for id_, originator, version, topic, state in batch:
                originator_id = (
                    uuid.UUID(bytes=originator)
                    if isinstance(originator, bytes)
                    else uuid.UUID(str(originator))
                )
                writer.writerow((id_, originator_id, version, topic, "\\x" + bytes(state).hex()))
            buffer.seek(0)
            cursor.copy_expert(f"COPY ledger_events ({COLUMNS}) FROM STDIN (FORMAT csv)", buffer)
            count += len(batch)
            if count % (chunk * 5) == 0:
                note(f"  copied {count:,} events")
        raw.commit()
        cursor.execute("ANALYZE ledger_events")
        raw.commit()
    finally:
        src.close()
        raw.close()
        engine.dispose()
    return count


def import_sqlite(source: Path, url: str, upto: int | None = None) -> int:
    target = sa.engine.make_url(url).database
    assert target is not None
    connection = sqlite3.connect(target, isolation_level=None)
    try:
        connection.execute("ATTACH DATABASE ? AS src", (str(source),))
        connection.execute("BEGIN")
        connection.execute(
            f"INSERT INTO ledger_events ({COLUMNS}) SELECT {COLUMNS} FROM src.ledger_events "
            "WHERE id <= ? ORDER BY id",
            (upto or 2**62,),
        )
        connection.execute("COMMIT")
        connection.execute("DETACH DATABASE src")
        connection.execute("ANALYZE")
        count: int = connection.execute("SELECT count(*) FROM ledger_events").fetchone()[0]
    finally:
        connection.close()
    return count


@contextlib.contextmanager
def loaded_database(
    backend: str, source: SourceLog, name: str, upto: int | None = None
) -> Iterator[str]:
    """A fresh, migrated database ``name`` on ``backend`` holding the events of ``source``
    with their positions (each benchmark its own name, so that they can run side by side);
    only its first ``upto`` events if given (a log as it stood then)."""
    with fresh_database(backend, name=name) as url:
        started = time.perf_counter()
        if backend == "postgresql":
            count = import_postgresql(source.path, url, upto=upto)
        else:
            count = import_sqlite(source.path, url, upto)
        note(f"{backend}: {count:,} events copied in {time.perf_counter() - started:.0f} s")
        yield url


def each_database(
    events: str, backend: str, name: str, seed: int = SEED
) -> Iterator[tuple[SourceLog, str, str]]:
    """For each count of ``events`` ("100000,1000000") and each backend of ``backend``
    ("postgresql", "sqlite" or "both"): (the source log, the backend, a loaded database)."""
    backends = ["postgresql", "sqlite"] if backend == "both" else [backend]
    for wanted in (int(n.replace("_", "")) for n in events.split(",") if n.strip()):
        source = source_log(wanted, seed)
        for each in backends:
            with loaded_database(each, source, name) as url:
                yield source, each, url
