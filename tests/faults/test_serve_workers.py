"""``ledger serve --workers 2``: two HTTP worker processes under uvicorn's supervisor, the
live follower and the replay-snapshot maker in the supervisor's process alone.

What a user of the server sees, over real HTTP on 127.0.0.1:

- both workers answer (``GET /api/health`` names the process that answered), and every
  one of them says the same process runs the follower: the supervisor, which is no worker;
- a command answered by one worker is read, with ``min_position``, from the other at once
  (the follower in a third process has folded it: the reader waited for the database's
  tracking row, not for anything of its own process);
- a page session begun on one worker goes on on the other (one session secret);
- a worker killed with SIGKILL under a load of commands is replaced, the load goes on, and
  nothing is lost, doubled or half-applied (the checks of every fault test);
- SIGTERM or SIGINT to the server stops every process of it; a server killed with SIGKILL
  leaves no worker behind holding the port.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.harness import (
    LedgerServer,
    Load,
    Processes,
    TaxCodes,
    assert_recovered,
    enterprise,
    last_lines,
)
from tests.support.faults import Database, People, add_people

WORKERS = 2
#: new connections tried before every worker has answered one
TRIES = 400
#: how long the supervisor may take to replace a killed worker, or to stop
WITHIN = 30.0


@pytest.fixture
def workers_served(
    processes: Processes, migrated_database: Database
) -> tuple[LedgerServer, People]:
    """``ledger serve --workers 2`` over the test's database, healthy, and its people."""
    server = LedgerServer(processes, migrated_database.url, workers=WORKERS).launch()
    people = add_people(processes, migrated_database.url)
    server.wait_healthy()
    return server, people


def connection(server: LedgerServer) -> httpx.Client:
    """A client of ONE connection: it stays with the worker that accepted it while it is
    used (idle longer than uvicorn's keep-alive, 5 s, it would be closed)."""
    return httpx.Client(
        base_url=server.base_url, timeout=15, limits=httpx.Limits(max_connections=1)
    )


def pid_of(http: httpx.Client) -> int:
    """The process that answers on this connection, as ``GET /api/health`` names it."""
    answer = http.get("/api/health")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["server"]["pid"])


@contextmanager
def one_connection_per_worker(server: LedgerServer) -> Iterator[dict[int, httpx.Client]]:
    """An open connection to each worker (by pid), found by opening new connections until
    every worker has answered one (bounded); the others are closed."""
    found: dict[int, httpx.Client] = {}
    try:
        for _ in range(TRIES):
            http = connection(server)
            pid = pid_of(http)
            if pid in found:
                http.close()
            else:
                found[pid] = http
            if len(found) == WORKERS:
                break
        assert len(found) == WORKERS, f"only {sorted(found)} answered {TRIES} new connections"
        yield found
    finally:
        for http in found.values():
            http.close()


def healths(server: LedgerServer) -> dict[int, dict[str, Any]]:
    """``GET /api/health`` as each worker answers it, by the pid of the worker."""
    with one_connection_per_worker(server) as by_pid:
        return {pid: http.get("/api/health").json() for pid, http in by_pid.items()}


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_until(check: Any, what: str, timeout: float = WITHIN) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.05)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def assert_stops_on(server: LedgerServer, signum: signal.Signals, workers: set[int]) -> None:
    """``signum`` to the server's process only (not its group): it ends with status 0 within
    :data:`WITHIN` seconds, and so does every worker; the port is free again."""
    assert server.process is not None
    os.kill(server.process.pid, signum)
    status = server.process.wait(WITHIN)
    output = last_lines(server.process.output())
    assert status == 0, f"`ledger serve` ended with {status} on {signum.name}:\n{output}"
    left = {pid for pid in workers if alive(pid)}
    assert not left, f"workers {left} still run after {signum.name} to the server:\n{output}"
    assert port_free(server.port), f"port {server.port} still taken after {signum.name}"


def test_every_worker_reads_at_once_what_another_wrote_and_one_process_follows(
    workers_served: tuple[LedgerServer, People],
) -> None:
    server, people = workers_served
    assert server.process is not None
    supervisor = server.process.pid

    # Step 1: both workers answer; each says the supervisor runs the follower and the
    # replay-snapshot maker, and how many workers serve.
    seen = healths(server)
    assert len(seen) == WORKERS and supervisor not in seen, (supervisor, sorted(seen))
    for pid, health in seen.items():
        assert health["server"] == {"pid": pid, "workers": WORKERS}, health["server"]
        assert health["follower"]["pid"] == supervisor, health["follower"]
        assert health["follower"]["state"] == "running", health["follower"]
        assert health["snapshots"]["pid"] == supervisor, health["snapshots"]

    # Step 2: commands answered by one worker are read from the other at once, with
    # min_position, each way in turn.
    codes = TaxCodes()
    officer = {"Authorization": f"Bearer {people.officer}"}
    with one_connection_per_worker(server) as by_pid:
        first, second = by_pid.values()
        for n in range(10):
            writer, reader = (first, second) if n % 2 == 0 else (second, first)
            command = enterprise(people.officer, codes())
            written = writer.post(
                command.path,
                json=command.body,
                headers={**officer, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert written.status_code == 201, written.text
            position = written.json()["position"]
            read = reader.get(
                "/api/reports/audit-trail",
                params={"min_position": position, "order": "desc", "page_size": 1},
                headers=officer,
            )
            assert read.status_code == 200, read.text
            answer = read.json()
            assert answer["position"] >= position and "stale" not in answer, (position, answer)
            assert answer["rows"][0]["position"] == position, answer["rows"][0]
            assert pid_of(writer) != pid_of(reader)  # still the two workers

        # Step 3: a page session begun on one worker goes on on the other.
        form = first.get("/dang-nhap")
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert found is not None, form.text[:300]
        second.cookies = first.cookies
        signed = second.post("/dang-nhap", data={"csrf": found.group(1), "token": people.officer})
        assert signed.status_code == 303, signed.text[:300]
        first.cookies = second.cookies
        page = first.get("/ho-so")
        assert page.status_code == 200, (page.status_code, page.headers.get("location"))

    # Step 4: SIGTERM to the server stops every process of it.
    assert_stops_on(server, signal.SIGTERM, set(seen))


def test_a_worker_killed_under_load_is_replaced_and_nothing_is_half_applied(
    workers_served: tuple[LedgerServer, People], processes: Processes
) -> None:
    server, people = workers_served
    before = set(healths(server))

    # Step 1: four clients register enterprises, each command with its own
    # Idempotency-Key, sent again with the same key until acknowledged.
    codes = TaxCodes()
    load = Load(server.base_url, lambda client, n: enterprise(people.officer, codes()), clients=4)
    load.start()
    try:
        time.sleep(0.8)
        # Step 2: SIGKILL one worker under the load.
        victim = min(before)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        # Step 3: the supervisor starts another in its place.
        now: set[int] = set()

        def replaced() -> bool:
            now.clear()
            try:
                now.update(healths(server))
            except (AssertionError, httpx.TransportError):
                # the new worker not answering yet, or a connection the dying one had
                # accepted: not replaced yet
                return False
            return victim not in now and len(now) == WORKERS

        wait_until(replaced, f"worker {victim} replaced ({before} → {now})")
        time.sleep(0.8)
    finally:
        load.stop()

    # Step 4: the load went on, and nothing was lost, doubled or left inconsistent.
    assert load.acked_after(killed_at), f"nothing acknowledged after the kill; {load.summary()}"
    assert_recovered(processes, server, people.admin, load)

    # Step 5: SIGINT (Ctrl-C) to the server stops every process of it.
    assert_stops_on(server, signal.SIGINT, before | now)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_workers_of_a_server_killed_with_sigkill_do_not_outlive_it(
    workers_served: tuple[LedgerServer, People],
) -> None:
    server, _ = workers_served
    assert server.process is not None
    workers = set(healths(server))
    os.kill(server.process.pid, signal.SIGKILL)  # the server's process alone
    server.process.popen.wait(WITHIN)
    wait_until(lambda: not any(alive(pid) for pid in workers), f"workers {workers} ended")
    wait_until(lambda: port_free(server.port), f"port {server.port} free")
