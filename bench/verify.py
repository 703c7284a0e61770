"""Verification of the whole log (``projections.verify.verify``), beside the raw scan.

Source data: the cached demo logs of ``bench.rebuild`` (``var/bench/``), copied into a fresh,
migrated database per backend. Before timing, the Merkle tree is built (``Projector.rebuild``
of the ``merkle`` projection; its time is printed too) and one checkpoint is signed.

Baseline (same database, same run): every row of ``ledger_events`` in position order through
the driver's streaming cursor, nothing else done with it (the raw scan).
Measured: ``verify()``: every leaf recomputed from the stored bytes, the roots at the tree's
size and at the checkpoint's, compared with the stored tree and the checkpoint (signature
checked). Each measurement runs in its own subprocess, so its peak memory is its own (the
peak printed is the measuring process's: on SQLite the two worker processes that recompute
the leaves are not in it). On PostgreSQL the leaves are hashed by the server, on two
connections (``projections.verify``); the rate then depends on the server's processors as
much as on this process's.

The machine may be shared: ``busy`` is the share of all processors that other work used in
the second before the verification began (this process waiting; 0.50 on two processors is
one of them taken), and the raw scan of the same run is the yardstick.

Run: ``.venv/bin/python -m bench.verify [--events 100000,1000000]
[--backend postgresql|sqlite|both]``. The goal (issue 4: ≥ 300,000 events/s) is printed,
not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import measure_in_child
from bench.logs import each_database, note, peak_rss_mib
from bench.table import EVENTS, Figure, Size, at_full_size, label
from ledger import checkpoint as cp
from ledger.service import Ledger
from projections.checkpoints import make
from projections.projector import Projector
from projections.verify import verify

GOAL_RATE = 300_000


def measure_scan(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    count = 0
    started = time.perf_counter()
    with engine.connect() as connection:
        raw: Any = connection.connection.dbapi_connection
        postgres = engine.dialect.name == "postgresql"
        cursor = raw.cursor("scan") if postgres else raw.cursor()
        cursor.execute(
            "SELECT id, originator_id, originator_version, topic, state FROM ledger_events "
            "ORDER BY id"
        )
        while rows := cursor.fetchmany(20_000):
            count += len(rows)
        cursor.close()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"events": count, "seconds": seconds, "rate": count / seconds}


def measure_verify(url: str) -> dict[str, Any]:
    ledger = Ledger(url)
    projector = Projector(ledger)
    started = time.perf_counter()
    projector.rebuild("merkle")
    tree_seconds = time.perf_counter() - started
    key = Ed25519PrivateKey.generate()
    make(projector, key)
    busy = busy_before()
    started = time.perf_counter()
    result = verify(projector, public_key=cp.raw_public(key))
    seconds = time.perf_counter() - started
    return {
        "events": result.checked,
        "seconds": seconds,
        "rate": result.checked / seconds,
        "ok": result.ok,
        "tree_seconds": tree_seconds,
        "peak_mib": peak_rss_mib(),
        "busy": busy,
    }


def busy_before(seconds: float = 1.0) -> float | None:
    """The share of all processors busy (with other work: this process sleeps) over the
    next ``seconds``, from ``/proc/stat``; None where there is none."""

    def times() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(t) for t in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle and waiting for I/O; all

    try:
        idle, total = times()
        time.sleep(seconds)
        idle_after, total_after = times()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle_after - idle) / max(total_after - total, 1)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def child(kind: str, url: str) -> dict[str, Any]:
    return measure_in_child("bench.verify", kind, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", default="100000,1000000")
    parser.add_argument("--backend", default="both", choices=["postgresql", "sqlite", "both"])
    parser.add_argument("--measure", choices=["scan", "verify"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measured = measure_scan(args.url) if args.measure == "scan" else measure_verify(args.url)
        print(json.dumps(measured))
        return
    rows = []
    for _, backend, url in each_database(args.events, args.backend, "nscl_bench_verify"):
        scan = child("scan", url)
        done = child("verify", url)
        note(
            f"{backend}: verified {done['events']:,} events, {done['rate']:,.0f}/s "
            f"(raw scan {scan['rate']:,.0f}/s; tree built in {done['tree_seconds']:.1f} s)"
        )
        rows.append((backend, scan, done))
    print("\nverification of the whole log (every leaf recomputed), beside the raw scan")
    print(
        f"{'backend':<12}{'events':>11}{'scan ev/s':>12}{'verify ev/s':>13}{'ratio':>7}"
        f"{'seconds':>9}{'peak MiB':>10}{'tree s':>8}{'busy':>6}"
    )
    for backend, scan, done in rows:
        print(
            f"{backend:<12}{done['events']:>11,}{scan['rate']:>12,.0f}{done['rate']:>13,.0f}"
            f"{done['rate'] / scan['rate']:>7.2f}{done['seconds']:>9.1f}{done['peak_mib']:>10.0f}"
            f"{done['tree_seconds']:>8.1f}{_share(done['busy']):>6}"
        )
    print(f"({os.cpu_count()} processors)")
    print("\ngoal (issue 4; printed, not asserted):")
    for backend, _, done in rows:
        met = "yes" if done["rate"] >= GOAL_RATE else "NO"
        print(
            f"  {backend} {done['events']:,}: ≥ {GOAL_RATE:,} events/s: {met}"
            f" ({done['rate']:,.0f}); clean: {'yes' if done['ok'] else 'NO'}"
        )


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: the verification's rate beside the raw scan, each backend."""
    figures = []
    for source, backend, url in each_database(str(EVENTS[size]), "both", "nscl_bench_verify"):
        scan = child("scan", url)
        done = child("verify", url)
        figures.append(
            Figure(
                label("verify every leaf and checkpoint", backend, source.events),
                done["rate"],
                "events/s",
                scan["rate"],
                "raw scan",
                f"≥ {GOAL_RATE:,} events/s at 1M",
                at_full_size(size, done["rate"] >= GOAL_RATE and done["ok"]),
            )
        )
    return figures


if __name__ == "__main__":
    main()
