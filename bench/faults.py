"""Commands under a ``kill -9`` of the server, beside the same load without one.

Sixteen HTTP clients send mixed commands to ``ledger serve`` for a fixed time: half of them
register enterprises (a unique tax code each), a quarter add to a city-budget line (a
unique decision number each; sixteen clients share ten lines, so they race for them), a
quarter submit an application for an enterprise the client registered (a unique dossier
number each). Every command has its own Idempotency-Key and is sent again with the SAME key
after a connection error, a 5xx or a 409 ``concurrency_conflict`` until acknowledged
(the fault suite's load generator, ``tests/faults/harness.py``).

Two runs per backend, each on a fresh database: the baseline, without a fault; and the same
load with the server killed with SIGKILL half-way through and restarted at once. Printed per
run: acknowledged commands per second, p50 / p99 latency (first send to acknowledgement,
retries included), seconds of unavailability after the kill (from the kill to the first
command acknowledged by the restarted server), positions lost (head − count of events: must be 0),
commands lost (acknowledged, not stored) and duplicated (stored twice, found by their
unique numbers), and the answers that were 500 (a defect) or 503.

Run: ``.venv/bin/python -m bench.faults [--seconds 15] [--clients 16]
[--backend postgresql|sqlite|both]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.common import fresh_database
from bench.logs import note
from bench.table import BACKENDS, Figure, Size, label
from tests.faults.harness import (
    APPLICATION_SUBMITTED,
    BUDGET_LINE_TOPICS,
    Ack,
    Command,
    LedgerServer,
    Load,
    Processes,
    TaxCodes,
    enterprise,
    ledger_env,
    log_positions,
    percentile,
    stored_values,
)

YEARS = range(2011, 2021)


class MixedCommands:
    """The commands of the sixteen clients: enterprise, budget, enterprise, application."""

    def __init__(self, officer: str, finance: str) -> None:
        self.officer, self.finance = officer, finance
        self.tax_codes = TaxCodes()
        self.run = self.tax_codes.prefix()
        self.enterprises: dict[int, list[str]] = defaultdict(list)
        self._lock = threading.Lock()

    def __call__(self, client: int, n: int) -> Command:
        step = n % 4
        with self._lock:
            mine = list(self.enterprises[client])
        if step == 1:
            return self.budget(client, n)
        if step == 3 and mine:
            return self.application(client, n, mine[-1])
        return enterprise(self.officer, self.tax_codes())

    def acknowledged(self, client: int, ack: Ack) -> None:
        if ack.command.path == "/api/enterprises":
            with self._lock:
                self.enterprises[client].append(ack.id)

    def budget(self, client: int, n: int) -> Command:
        year = YEARS[client % len(YEARS)]
        decision = f"QĐ-{self.run}-{client}-{n}"
        body = {
            "budget_year": year,
            "project": "DA2",
            "source": "city_budget",
            "amount": 1_000_000,
            "decision_no": decision,
            "decided_on": f"{year}-01-05",
        }
        return Command(
            "/api/budget-lines", body, self.finance, BUDGET_LINE_TOPICS[0], "decision_no", decision
        )

    def application(self, client: int, n: int, enterprise_id: str) -> Command:
        dossier = f"HS-{self.run}-{client}-{n}"
        body = {
            "enterprise_id": enterprise_id,
            "dossier_no": dossier,
            "project": "DA2",
            "support_type": "iso_9001",
            "title": "Áp dụng ISO 9001:2015",
            "total_cost": 100_000_000,
            "requested": {"city_budget": 50_000_000, "enterprise": 50_000_000, "other": 0},
            "submitted_on": "2015-02-01",
        }
        return Command(
            "/api/applications", body, self.officer, APPLICATION_SUBMITTED, "dossier_no", dossier
        )


@dataclass
class Run:
    backend: str
    kind: str
    rate: float
    p50: float
    p99: float
    unavailable: float | None
    positions_lost: int
    lost: int
    duplicated: int
    unacknowledged: int
    server_errors: int
    unavailable_answers: int
    acknowledged: int


def stored_once(url: str, load: Load) -> tuple[int, int, int]:
    """(acknowledged not stored, stored more than once, stored never acknowledged) over
    every kind of command, found by its unique number."""
    lost = duplicated = unacknowledged = 0
    kinds = {(c.topic, c.field) for c in load.commands}
    for topic, field in kinds:
        topics = BUDGET_LINE_TOPICS if topic in BUDGET_LINE_TOPICS else (topic,)
        sent = {c.value for c in load.commands if (c.topic, c.field) == (topic, field)}
        acked = {a.command.value for a in load.acks if a.command.topic == topic}
        stored = {v: n for v, n in stored_values(url, topics, field).items() if v in sent}
        lost += len(acked - set(stored))
        duplicated += sum(n - 1 for n in stored.values() if n > 1)
        unacknowledged += len(set(stored) - acked)
    return lost, duplicated, unacknowledged


def measure(backend: str, kind: str, seconds: float, clients: int) -> Run:
    with (
        tempfile.TemporaryDirectory() as directory,
        fresh_database(backend, name="nscl_bench_faults") as url,
    ):
        processes = Processes(Path(directory), ledger_env(Path(directory)))
        try:
            officer, finance = processes.add_users(
                url, ("Cán bộ tải", "officer", "SKHCN"), ("Cán bộ tài chính tải", "finance", "STC")
            )
            server = LedgerServer(processes, url).start()
            commands = MixedCommands(officer, finance)
            load = Load(server.base_url, commands, clients, on_ack=commands.acknowledged)
            load.start()
            killed_at = None
            time.sleep(seconds / 2)
            if kind == "kill -9":
                killed_at = time.monotonic()
                server.kill9()
                server.restart()
            time.sleep(max(0.0, load.started_at + seconds - time.monotonic()))
            ended = time.monotonic()
            load.stop()
            server.stop()
        finally:
            processes.close()
        count, _, last = log_positions(url)
        lost, duplicated, unacknowledged = stored_once(url, load)
    in_time = [a for a in load.acks if a.acked_at <= ended]
    # acknowledged by the restarted server: sent after the kill (the killed one answers none)
    after = [a.acked_at for a in load.acks if killed_at is not None and a.last_sent_at > killed_at]
    latencies = [a.latency * 1000 for a in load.acks]
    answers = load.answers
    return Run(
        backend,
        kind,
        rate=len(in_time) / (ended - load.started_at),
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        unavailable=(min(after) - killed_at) if after and killed_at is not None else None,
        positions_lost=last - count,
        lost=lost,
        duplicated=duplicated,
        unacknowledged=unacknowledged + len(load.failures),
        server_errors=sum(n for k, n in answers.items() if k.startswith("500")),
        unavailable_answers=sum(n for k, n in answers.items() if k.startswith("503")),
        acknowledged=len(load.acks),
    )


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base else "-"


def table(runs: list[Run]) -> list[str]:
    lines = [
        "| backend | run | commands/s | p50 ms | p99 ms | unavailable after the kill, s "
        "| positions lost | commands lost | duplicated | not acknowledged | 500s | 503s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    baseline: dict[str, Run] = {r.backend: r for r in runs if r.kind == "no kill"}
    for r in runs:
        base = baseline.get(r.backend)
        rate, p50, p99 = f"{r.rate:,.0f}", f"{r.p50:,.0f}", f"{r.p99:,.0f}"
        if base is not None and r is not base:
            rate += f" ({_ratio(r.rate, base.rate)})"
            p50 += f" ({_ratio(r.p50, base.p50)})"
            p99 += f" ({_ratio(r.p99, base.p99)})"
        unavailable = "-" if r.unavailable is None else f"{r.unavailable:.2f}"
        lines.append(
            f"| {r.backend} | {r.kind} | {rate} | {p50} | {p99} | {unavailable} "
            f"| {r.positions_lost} | {r.lost} | {r.duplicated} | {r.unacknowledged} "
            f"| {r.server_errors} | {r.unavailable_answers} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backend", default="both", choices=["postgresql", "sqlite", "both"])
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    runs: list[Run] = []
    for backend in backends:
        for kind in ("no kill", "kill -9"):
            note(f"{backend}: {args.clients} clients for {args.seconds:g} s, {kind}")
            run = measure(backend, kind, args.seconds, args.clients)
            note(f"{backend}, {kind}: {run.acknowledged:,} acknowledged, {run.rate:,.0f}/s")
            runs.append(run)
    print(
        f"\n{args.clients} clients of mixed commands for {args.seconds:g} s per run; the kill "
        "-9 at half-time, the server restarted at once (ratios: of the run without a kill)\n"
    )
    for line in table(runs):
        print(line)
    print(
        f"\n({os.cpu_count()} processors; positions lost, commands lost and duplicated must be 0)"
    )


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: 16 clients of mixed commands with the server killed with SIGKILL
    at half-time and restarted, beside the same load without a kill, each backend."""
    seconds = 4.0 if size == "quick" else 15.0
    figures = []
    for backend in BACKENDS:
        base = measure(backend, "no kill", seconds, 16)
        run = measure(backend, "kill -9", seconds, 16)
        harm = run.positions_lost + run.lost + run.duplicated + run.server_errors
        harm += base.positions_lost + base.lost + base.duplicated + base.server_errors
        unavailable = "-" if run.unavailable is None else f"{run.unavailable:.1f} s"
        figures.append(
            Figure(
                label(f"commands through a kill -9, 16 clients, {seconds:g} s", backend)
                + f" ({unavailable} unavailable)",
                run.rate,
                "cmds/s",
                base.rate,
                "the same load without a kill",
                "0 positions or commands lost, 0 duplicated, 0 answers 500",
                harm == 0,
            )
        )
    return figures


if __name__ == "__main__":
    main()
