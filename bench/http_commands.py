"""Commands per second over HTTP with concurrent clients, beside the in-process rate.

Its own module beside :mod:`bench.http` (which measures reads over HTTP), not an extension of
:mod:`bench.commands`: that one is the in-process, one-writer measurement, with nothing but
the library and the service in its process; this one needs a server process, client threads,
latencies, status counts and a sampler of PostgreSQL's waits. It imports the in-process
figures from :mod:`bench.commands` and measures them in the same run, on the same backend.

Set-up (not measured): a fresh, migrated database; a city-budget line with room for every
payment; per client an officer, an appraiser and an approver (SKHCN; separation of duties
keeps them three). Then ``ledger serve --workers N`` runs on 127.0.0.1 and ``--clients``
threads (16), each with its own HTTP connection and its own users, run the application's
lifecycle again and again for ``--seconds``: register an enterprise, submit, appraise,
approve (commits the city-budget share on the one budget line), sign the contract, pay (draws
from that line) — six commands a cycle, each sent with its own ``Idempotency-Key``. Every
answer's status is counted. A 409 ``concurrency_conflict`` (the server reran the command
``MAX_ATTEMPTS`` times and other writers kept winning the same budget line) is sent again
with the same key, as docs/api.md says a client should; it is counted, not an error. Any
other answer but 2xx is counted and the client starts a new cycle.

Baseline (same run, same backend, a database of its own): :func:`bench.commands.domain`,
the service's five-command cycle in one thread of this process, no HTTP; and
:func:`bench.commands.baseline`, the library alone (get + trigger + save). Goal (issue 16):
HTTP commands/s ≥ 0.5 × the in-process rate × the cores the server may use (its worker
processes, at most the machine's cores); p99 ≤ 100 ms; no 5xx.

``--sample-waits``: while the load runs, a thread asks ``pg_stat_activity`` every 5 ms what
the ledger's sessions are doing and prints how often each was seen waiting on what (a lock
on the events table, the WAL, the client…) — the evidence of what serialises the writers.

Run: ``.venv/bin/python -m bench.http_commands [--clients 16] [--seconds 10]
[--workers N ...] [--backend postgresql|sqlite] [--sample-waits]``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench import commands as in_process
from bench.common import fresh_database
from bench.table import Figure, Size
from ledger import commands as c
from ledger.access import SYSTEM
from ledger.service import Ledger
from projections.parallel import cores
from tests.faults.harness import LedgerServer, Processes, ledger_env

YEAR = 2015
GOAL_RATIO = 0.5
GOAL_P99_MS = 100.0
STEPS = ("register", "submit", "appraise", "approve", "contract", "pay")
CITY = 30_000_000
SPLIT = {"city_budget": CITY, "enterprise": CITY, "other": 0}
#: the sizes of :func:`summary`: seconds of HTTP load per server, cycles in process
SIZES: dict[Size, tuple[float, int]] = {"quick": (5.0, 60), "1m": (20.0, 300)}


def prepare(url: str, clients: int) -> list[dict[str, str]]:
    """The budget line and each client's three users (their tokens)."""
    ledger = Ledger(url)
    try:

        def person(name: str, role: str, department: str) -> str:
            command = c.GrantAccess(name=name, role=role, department=department)
            return ledger.grant_access(command, SYSTEM).token

        finance = ledger.authenticate(person("Cán bộ tài chính", "finance", "STC"))
        ledger.assign_budget(
            c.AssignBudget(
                budget_year=YEAR,
                project="DA2",
                source="city_budget",
                amount=10**14,
                decision_no="QĐ-HTTP-BENCH",
                decided_on=dt.date(YEAR, 1, 5),
            ),
            finance,
        )
        return [
            {
                role: person(f"{title} {i}", "officer", "SKHCN")
                for role, title in (
                    ("officer", "Cán bộ tiếp nhận"),
                    ("appraiser", "Cán bộ thẩm định"),
                    ("approver", "Lãnh đạo phòng"),
                )
            }
            for i in range(clients)
        ]
    finally:
        ledger.engine.dispose()


class Client:
    """One client: its own connection, users and numbers; runs cycles and keeps score."""

    def __init__(self, base: str, index: int, tokens: dict[str, str], run: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.index, self.tokens, self.run = index, tokens, run
        self.cycles = 0
        self.latencies: list[float] = []
        self.statuses: collections.Counter[int] = collections.Counter()
        self.codes: collections.Counter[str] = collections.Counter()
        self.resent = 0

    def post(self, role: str, path: str, body: dict[str, Any], timed: bool) -> Any:
        headers = {
            "Authorization": f"Bearer {self.tokens[role]}",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        while True:
            began = time.perf_counter()
            answer = self.http.post(path, json=body, headers=headers)
            if timed:
                self.latencies.append(time.perf_counter() - began)
                self.statuses[answer.status_code] += 1
            if answer.status_code < 300:
                return answer.json()
            code = _code(answer)
            if timed:
                self.codes[f"{answer.status_code} {code}"] += 1
            if answer.status_code == 409 and code == "concurrency_conflict":
                self.resent += 1
                continue  # safe to send again: the same key
            return None

    def cycle(self, timed: bool = True) -> bool:
        """One lifecycle, six commands; whether every one was carried out."""
        n, self.cycles = self.cycles, self.cycles + 1
        tag = f"{self.run}-{self.index}-{n}"
        tax_code = f"{self.index + 10:02d}{n:08d}"
        enterprise = self.post(
            "officer",
            "/api/enterprises",
            {
                "tax_code": tax_code,
                "name": f"Công ty {tag}",
                "district": "QH-HOANKIEM",
                "sector": "industry",
                "size": "small",
            },
            timed,
        )
        if enterprise is None:
            return False
        submitted = self.post(
            "officer",
            "/api/applications",
            {
                "enterprise_id": enterprise["id"],
                "dossier_no": f"HS-{tag}",
                "project": "DA2",
                "support_type": "iso_9001",
                "title": "ISO 9001",
                "total_cost": 2 * CITY,
                "requested": SPLIT,
                "submitted_on": f"{YEAR}-02-01",
            },
            timed,
        )
        if submitted is None:
            return False
        application = f"/api/applications/{submitted['id']}"
        steps: list[tuple[str, str, dict[str, Any]]] = [
            ("appraiser", "/appraisal", {"appraised_on": f"{YEAR}-02-10", "recommended": SPLIT}),
            (
                "approver",
                "/approval",
                {
                    "decision_no": f"QĐ-{tag}",
                    "decided_on": f"{YEAR}-03-01",
                    "budget_year": YEAR,
                    "approved": SPLIT,
                },
            ),
            ("officer", "/contract", {"contract_no": f"HĐ-{tag}", "signed_on": f"{YEAR}-03-05"}),
            (
                "officer",
                "/disbursements",
                {
                    "paid_on": f"{YEAR}-03-10",
                    "amount": CITY,
                    "voucher_no": f"PC-{tag}",
                    "kind": "payment",
                },
            ),
        ]
        for role, suffix, body in steps:
            if self.post(role, application + suffix, body, timed) is None:
                return False
        return True


def _code(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("code", "?"))
    except ValueError:
        return "?"


class WaitSampler:
    """Samples ``pg_stat_activity`` of one database every ``every`` s, in a thread: how often
    a session was seen in each state (active and waiting on what, idle in transaction…)."""

    QUERY = sa.text(
        "SELECT state, wait_event_type, wait_event, "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS query "
        "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
    )
    LOCKS = sa.text(
        "SELECT l.mode, coalesce(c.relname, l.locktype) AS what FROM pg_locks l "
        "LEFT JOIN pg_class c ON c.oid = l.relation "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.datname = :db"
    )

    HOLDER = sa.text(
        "SELECT a.state, a.wait_event_type, a.wait_event, "
        "left(regexp_replace(a.query, '\\s+', ' ', 'g'), 40) AS query FROM pg_locks l "
        "JOIN pg_class c ON c.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.granted AND l.mode = 'ExclusiveLock' AND c.relname = 'ledger_events' "
        "AND a.datname = :db"
    )

    def __init__(self, url: str, every: float = 0.005) -> None:
        self.database = make_url(url).database
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.every = every
        self.seen: collections.Counter[str] = collections.Counter()
        self.blocked: collections.Counter[str] = collections.Counter()
        self.holder: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def _run(self) -> None:
        with self.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            while not self._stop.is_set():
                self.samples += 1
                for row in connection.execute(self.QUERY, {"db": self.database}):
                    if row.state == "idle":
                        continue
                    waiting = f"{row.wait_event_type}:{row.wait_event}" if row.wait_event else "cpu"
                    query = row.query if row.wait_event_type == "Lock" else ""
                    self.seen[f"{row.state} {waiting} {query}".strip()] += 1
                for row in connection.execute(self.LOCKS, {"db": self.database}):
                    self.blocked[f"{row.mode} on {row.what}"] += 1
                for row in connection.execute(self.HOLDER, {"db": self.database}):
                    waiting = f"{row.wait_event_type}:{row.wait_event}" if row.wait_event else "cpu"
                    self.holder[f"{row.state} {waiting} (last: {row.query})"] += 1
                time.sleep(self.every)

    def report(self, top: int = 12) -> str:
        lines = [f"  sessions seen per sample ({self.samples} samples), busiest first:"]
        for what, count in self.seen.most_common(top):
            lines.append(f"  {count / max(1, self.samples):7.2f}  {what}")
        lines.append("  locks waited for (per sample):")
        for what, count in self.blocked.most_common(top):
            lines.append(f"  {count / max(1, self.samples):7.2f}  {what}")
        lines.append("  the events table's lock holder, what it is doing (share of samples):")
        for what, count in self.holder.most_common(top):
            lines.append(f"  {count / max(1, self.samples):7.2f}  {what}")
        return "\n".join(lines)


def load(
    url: str, workers: int, clients: int, seconds: float, sample: bool = False
) -> dict[str, Any]:
    """Serve ``url`` with ``ledger serve --workers workers`` and load it: the figures."""
    tokens = prepare(url, clients)
    directory = Path(tempfile.mkdtemp(prefix="bench-http-commands-"))
    processes = Processes(directory, ledger_env(directory))
    run = uuid.uuid4().hex[:6]
    try:
        server = LedgerServer(processes, url, workers=workers).start(timeout=120)
        every = [Client(server.base_url, i, tokens[i], run) for i in range(clients)]
        for client in every:  # warm up: each worker's caches, each client's connection
            client.cycle(timed=False)
        start = threading.Barrier(clients + 1)
        stop_at = [float("inf")]

        def drive(client: Client) -> None:
            start.wait()
            while time.perf_counter() < stop_at[0]:
                client.cycle()

        threads = [threading.Thread(target=drive, args=(client,)) for client in every]
        for thread in threads:
            thread.start()
        load_before = os.getloadavg()[0]
        sampler = WaitSampler(url) if sample and url.startswith("postgresql") else None
        if sampler is not None:
            sampler.__enter__()
        start.wait()
        began = time.perf_counter()
        stop_at[0] = began + seconds
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        if sampler is not None:
            sampler.__exit__()
        for client in every:
            client.http.close()
    finally:
        processes.close()
    rolled_back = _events_rolled_back(url)
    latencies = sorted(x for client in every for x in client.latencies)
    statuses: collections.Counter[int] = collections.Counter()
    codes: collections.Counter[str] = collections.Counter()
    for client in every:
        statuses.update(client.statuses)
        codes.update(client.codes)
    done = sum(n for status, n in statuses.items() if status < 300)
    return {
        "workers": workers,
        "clients": clients,
        "seconds": elapsed,
        "requests": len(latencies),
        "per_second": done / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        if latencies
        else 0.0,
        "statuses": dict(sorted(statuses.items())),
        "codes": dict(codes.most_common()),
        "server_errors": sum(n for status, n in statuses.items() if status >= 500),
        "rolled_back": rolled_back,
        "load_average": load_before,
        "waits": sampler.report() if sampler is not None else "",
    }


def _events_rolled_back(url: str) -> int | None:
    """Events inserted and then rolled back, in the whole run (PostgreSQL's statistics count
    every inserted row, its transaction's end aside): a unit of work that lost a race on an
    aggregate (the budget line, mostly) and ran again; ``None`` on SQLite."""
    if not url.startswith("postgresql"):
        return None
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            time.sleep(1.0)  # the server's sessions have ended; their statistics are sent
            inserted = connection.execute(
                sa.text("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'ledger_events'")
            ).scalar_one()
            kept = connection.execute(sa.text("SELECT count(*) FROM ledger_events")).scalar_one()
        return int(inserted) - int(kept)
    finally:
        engine.dispose()


def baseline(backend: str, cycles: int) -> dict[str, float]:
    """The in-process figures of :mod:`bench.commands`, each on a fresh database."""
    with fresh_database(backend, "h16commands_bench") as url:
        library = in_process.baseline(url, cycles * in_process.COMMANDS_PER_CYCLE)
        domain = in_process.domain(url, cycles)
    return {"library": library, "domain": domain}


def cores_used(workers: int) -> int:
    return max(1, min(workers, cores()))


def measure(
    backend: str, workers_list: list[int], clients: int, seconds: float, cycles: int, sample: bool
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    base = baseline(backend, cycles)
    rows = []
    for workers in workers_list:
        with fresh_database(backend, "h16commands_bench") as url:
            row = load(url, workers, clients, seconds, sample)
        row["ratio"] = row["per_second"] / (base["domain"] * cores_used(workers))
        row["met"] = (
            row["ratio"] >= GOAL_RATIO and row["p99_ms"] <= GOAL_P99_MS and not row["server_errors"]
        )
        rows.append(row)
    return base, rows


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: PostgreSQL, 16 clients, ``ledger serve --workers`` one per core:
    commands per second beside the in-process rate × the cores the server may use, p99,
    and the answers that were 5xx."""
    seconds, cycles = SIZES[size]
    workers = cores()
    base, [row] = measure("postgresql", [workers], 16, seconds, cycles, sample=False)
    used = cores_used(workers)
    what = f"HTTP commands, 16 clients, {workers} workers, PostgreSQL"
    return [
        Figure(
            f"{what}: commands/s",
            row["per_second"],
            "cmds/s",
            base["domain"] * used,
            f"in process × {used} cores",
            f"≥ {GOAL_RATIO}× in process per core",
            row["ratio"] >= GOAL_RATIO,
        ),
        Figure(
            f"{what}: p99",
            row["p99_ms"],
            "ms",
            goal=f"≤ {GOAL_P99_MS:g} ms",
            met=row["p99_ms"] <= GOAL_P99_MS,
        ),
        Figure(
            f"{what}: answers 5xx",
            row["server_errors"],
            "count",
            goal="0",
            met=not row["server_errors"],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cycles", type=int, default=300, help="in-process cycles")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[cores(), 1],
        help="ledger serve --workers, one load each (default: one per core, then 1)",
    )
    parser.add_argument("--sample-waits", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    base, rows = measure(
        args.backend, args.workers, args.clients, args.seconds, args.cycles, args.sample_waits
    )
    print(
        f"\n{args.backend}: in process (one thread) {base['domain']:.0f} commands/s, "
        f"library alone {base['library']:.0f} ops/s"
    )
    print(
        f"{'workers':>7} {'clients':>7} {'cmds/s':>7} {'baseline':>8} {'ratio':>6} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'5xx':>4} {'load':>5}  goals; statuses; refusals"
    )
    for r in rows:
        print(
            f"{r['workers']:>7} {r['clients']:>7} {r['per_second']:>7.0f} "
            f"{base['domain'] * cores_used(r['workers']):>8.0f} {r['ratio']:>6.2f} "
            f"{r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['server_errors']:>4} "
            f"{r['load_average']:>5.2f}  {'met' if r['met'] else 'NOT met'}; "
            f"{r['statuses']}; {r['codes']}; events rolled back and rerun: {r['rolled_back']}"
        )
        if r["waits"]:
            print(r["waits"])


if __name__ == "__main__":
    main()
