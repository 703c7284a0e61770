"""Requests per second of the pages and the report endpoints, beside ``/api/health``.

Source data: the cached demo log of :mod:`bench.logs` (~1M events by default), copied into a
fresh, migrated database per backend, every read model rebuilt (not measured). Then
``ledger serve --workers N`` runs on 127.0.0.1 (``--workers``: 1 by default, one process with
its live follower; N > 1: N HTTP worker processes, the follower in their manager's) and this
process sends the load: ``--clients`` threads (8), each with its own HTTP connection, asking
one address again and again for ``--seconds`` (5). Each address is measured right after
``/api/health`` of the same server, so each ratio compares two runs a few seconds apart.

Addresses: the overview page (``/``, public), an application's page (``/ho-so/{id}``,
signed in through the sign-in form), every report endpoint (the live JSON answers, with a
viewer's token), ``GET /api/budget-lines`` and ``GET /api/applications/{id}``. The two
application addresses are measured twice: one application asked again and again (its
figures are kept while the read models stay put), and 2,000 applications asked in turn
(``×2000`` rows: each request another application, so nearly every one is made afresh).

Goals (issue 14): every page and report ≥ 0.5× health's requests/s; report JSON p99 ≤ 20 ms
and pages p99 ≤ 100 ms on a quiet machine. Printed, not asserted. The machine has 2 shared
cores, and the load generator shares them with the server: how quiet it was is printed (the
load average before the first measurement).

Run: ``.venv/bin/python -m bench.http [--events 1000000] [--backend sqlite|postgresql|both]
[--clients 8] [--seconds 5] [--workers 1]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.logs import SEED, each_database, note
from bench.table import BACKEND_NAMES, EVENTS, Figure, Size
from ledger import commands as c
from ledger.access import SYSTEM
from ledger.service import Ledger
from projections import registers
from projections.parallel import cores
from projections.projector import Projector
from tests.faults.harness import LedgerServer, Processes, ledger_env
from tests.support.http import REPORTS as REPORT_PATHS

#: the report endpoints (as the tests list them), the program report, the estimate report,
#: budget execution and the budget lines
REPORTS = (
    *REPORT_PATHS,
    "/api/reports/program?from=2011&to=2020",
    "/api/reports/estimate/2020",
    "/api/reports/budget-execution?budget_year=2020",
    "/api/budget-lines",
)
GOAL_RATIO = 0.5
GOAL_JSON_P99_MS = 20.0
GOAL_PAGE_P99_MS = 100.0


def load(
    base: str,
    path: str | list[str],
    clients: int,
    seconds: float,
    setup: Callable[[httpx.Client], None],
) -> dict[str, float]:
    """``clients`` threads asking ``path`` for ``seconds`` (a list of paths: each client
    asks them in turn, starting at its own): requests/s, p50 and p99 (ms)."""
    paths = [path] if isinstance(path, str) else path
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as session:
            setup(session)
            start.wait()
            turn = i * len(paths) // clients
            while time.perf_counter() < stop_at[0]:
                began = time.perf_counter()
                answer = session.get(paths[turn % len(paths)])
                turn += 1
                latencies[i].append(time.perf_counter() - began)
                if answer.status_code != 200:
                    failures[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds + 60  # set properly once all are ready
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for each in latencies for x in each)
    return {
        "requests": len(every),
        "per_second": len(every) / elapsed,
        "p50_ms": 1000 * statistics.median(every) if every else 0.0,
        "p99_ms": 1000 * every[min(len(every) - 1, int(0.99 * len(every)))] if every else 0.0,
        "failed": float(sum(failures)),
    }


def first(base: str, path: str | list[str], setup: Callable[[httpx.Client], None]) -> float:
    """The first request's time (ms), before the timed load: an answer that is made once per
    position of its read models (a report, a page's figures) is made here, and the load then
    measures what every later request costs while the log stands still."""
    with httpx.Client(base_url=base, timeout=120) as session:
        setup(session)
        began = time.perf_counter()
        session.get(path if isinstance(path, str) else path[0])
        return 1000 * (time.perf_counter() - began)


def bearer(token: str) -> Callable[[httpx.Client], None]:
    def setup(session: httpx.Client) -> None:
        session.headers["Authorization"] = f"Bearer {token}"

    return setup


def signed_in(token: str) -> Callable[[httpx.Client], None]:
    def setup(session: httpx.Client) -> None:
        form = session.get("/dang-nhap").text
        found = re.search(r'name="csrf" value="([^"]+)"', form)
        assert found is not None, "no sign-in form"
        answer = session.post("/dang-nhap", data={"csrf": found.group(1), "token": token})
        assert answer.status_code in (200, 303), answer.status_code

    return setup


def nothing(_: httpx.Client) -> None:
    pass


#: how many applications the "each request another application" rows go through
SPREAD = 2000


def prepare(url: str) -> tuple[str, list[str]]:
    """Rebuild every read model; a viewer's token and the ids of ``SPREAD`` applications."""
    ledger = Ledger(url)
    try:
        started = time.perf_counter()
        projector = Projector(ledger)
        projector.rebuild()
        note(f"every read model rebuilt in {time.perf_counter() - started:.0f} s")
        token = ledger.grant_access(
            c.GrantAccess(name="Người xem thử tải", role="viewer", department="STC"), SYSTEM
        ).token
        projector.catch_up()
        with projector.reading(registers.NAME) as (connection, tables, _):
            rows, _next = registers.applications(connection, tables, page_size=SPREAD)
        return token, [str(row["id"]) for row in rows]
    finally:
        ledger.engine.dispose()


#: the addresses of ``make bench``'s quick size: the overview, applications' pages and
#: records asked in turn, and the JSON addresses that were the slowest at 1M
QUICK = (
    "/",
    "/ho-so/{id}",
    "/api/applications/{id}",
    "/api/applications",
    "/api/reports/audit-trail",
    "/api/reports/program?from=2011&to=2020",
    "/api/budget-lines",
)


def measure(
    url: str, clients: int, seconds: float, workers: int, quick: bool = False
) -> list[dict[str, Any]]:
    """Each address's requests per second, p50 and p99 beside ``/api/health``'s (only those
    of :data:`QUICK` if ``quick``)."""
    token, applications = prepare(url)
    application = applications[0]
    directory = Path(tempfile.mkdtemp(prefix="bench-http-"))
    processes = Processes(directory, ledger_env(directory))
    server = LedgerServer(processes, url, workers=workers).start(timeout=120)
    results = []
    try:
        note(f"load average before: {os.getloadavg()[0]:.2f}")
        spread = len(applications)
        targets: list[tuple[str, str | list[str], Callable[[httpx.Client], None]]] = [
            ("page", "/", nothing),
            ("page", f"/ho-so/{application}", signed_in(token)),
            ("page", [f"/ho-so/{a}" for a in applications], signed_in(token)),
            ("json", f"/api/applications/{application}", bearer(token)),
            ("json", [f"/api/applications/{a}" for a in applications], bearer(token)),
            *(("json", path, bearer(token)) for path in REPORTS),
        ]
        for kind, path, setup in targets:
            name = path if isinstance(path, str) else _spread(path[0], spread)
            if quick and name.split(" ×")[0] not in QUICK:
                continue
            first_ms = first(server.base_url, path, setup)
            health = load(server.base_url, "/api/health", clients, seconds, nothing)
            found = load(server.base_url, path, clients, seconds, setup)
            found["first_ms"] = first_ms
            results.append({"kind": kind, "path": name, "health": health, **found})
            note(
                f"{name}: {found['per_second']:.0f}/s (health {health['per_second']:.0f}/s), "
                f"p50 {found['p50_ms']:.1f} ms, p99 {found['p99_ms']:.1f} ms"
            )
    finally:
        processes.close()
    return results


def _spread(first: str, spread: int) -> str:
    """The name of a row that asks another application each time."""
    return first.rsplit("/", 1)[0] + f"/{{id}} ×{spread}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", default="1000000")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--workers", type=int, default=1, help="HTTP worker processes (ledger serve --workers)"
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for source, backend, url in each_database(
        args.events, args.backend, "nscl_bench_http", args.seed
    ):
        note(f"{backend}: {source.events:,} events")
        rows = measure(url, args.clients, args.seconds, args.workers)
        what = (
            f"{source.events:,} events, {args.workers} HTTP worker(s), {args.clients} clients, "
            f"{args.seconds:g} s each"
        )
        print(f"\n{backend}, {what}")
        print(
            f"{'address':<48} {'first ms':>8} {'req/s':>7} {'health/s':>8} {'ratio':>6} "
            f"{'p50 ms':>7} {'p99 ms':>7} {'failed':>6}  goals"
        )
        for r in rows:
            ratio = r["per_second"] / r["health"]["per_second"]
            limit = GOAL_PAGE_P99_MS if r["kind"] == "page" else GOAL_JSON_P99_MS
            met = ratio >= GOAL_RATIO and r["p99_ms"] <= limit
            print(
                f"{r['path'][:48]:<48} {r['first_ms']:>8.0f} {r['per_second']:>7.0f} "
                f"{r['health']['per_second']:>8.0f} {ratio:>6.2f} {r['p50_ms']:>7.1f} "
                f"{r['p99_ms']:>7.1f} {r['failed']:>6.0f}  "
                f"{'met' if met else 'NOT met'} (≥ {GOAL_RATIO}×, p99 ≤ {limit:g} ms)"
            )


def _short(row: dict[str, Any]) -> str:
    """An address as the table names it: an application's id as ``{id}``."""
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", row["path"])


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: with ``ledger serve``'s default of one worker per core and 8
    clients, the pages and the JSON addresses, each kind's slowest beside ``/api/health``
    of the same run and its worst p99, each backend."""
    seconds = 1.0 if size == "quick" else 5.0
    workers = cores()
    figures = []
    for source, backend, url in each_database(str(EVENTS[size]), "both", "nscl_bench_http"):
        rows = measure(url, 8, seconds, workers, quick=size == "quick")
        for kind, what, limit in (
            ("page", "pages", GOAL_PAGE_P99_MS),
            ("json", "JSON reports and records", GOAL_JSON_P99_MS),
        ):
            of_kind = [r for r in rows if r["kind"] == kind]
            worst = min(of_kind, key=lambda r: r["per_second"] / r["health"]["per_second"])
            ratio = worst["per_second"] / worst["health"]["per_second"]
            where = f"{BACKEND_NAMES[backend]}, {source.events:,} events, {workers} workers"
            figures.append(
                Figure(
                    f"HTTP {what}, slowest of {len(of_kind)} ({_short(worst)}), {where}",
                    worst["per_second"],
                    "req/s",
                    worst["health"]["per_second"],
                    "/api/health",
                    f"≥ {GOAL_RATIO}× health",
                    ratio >= GOAL_RATIO and not any(r["failed"] for r in of_kind),
                )
            )
            p99 = max(of_kind, key=lambda r: r["p99_ms"])
            figures.append(
                Figure(
                    f"HTTP {what}, worst p99 ({_short(p99)}), {where}",
                    p99["p99_ms"],
                    "ms",
                    goal=f"≤ {limit:g} ms",
                    met=p99["p99_ms"] <= limit,
                )
            )
    return figures


if __name__ == "__main__":
    main()
