"""The fault suite's harness: real ``ledger`` processes, real HTTP clients, real faults.

- :class:`Processes` starts ``ledger`` commands in their own process groups and kills what is
  left of them at the end of a test; every wait on one is bounded.
- :class:`LedgerServer` runs ``ledger serve`` on a free port of 127.0.0.1, waits for
  ``GET /api/health``, and can be killed with SIGKILL and restarted on the same port. It
  runs one process (``--workers 1``: the HTTP app and the live follower together) unless
  told how many HTTP workers to run: the fault tests kill, cut off and restart that one
  server process; ``test_serve_workers.py`` runs several.
- :class:`Load` is N client threads sending commands over HTTP, each with a fresh
  Idempotency-Key, retrying the SAME key on connection errors, 5xx and 409
  ``concurrency_conflict`` until the command is acknowledged (bounded), and recording what
  was acknowledged, at which position, and how long it took.
- The checks every fault test ends with: positions contiguous, ``ledger verify`` and
  ``ledger projections check`` exit 0, every acknowledged command stored exactly once and
  readable, and the live projections at the head of the log without ``min_position``.

The benchmark ``bench/faults.py`` uses the same pieces.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
LEDGER_SCRIPT = Path(sys.executable).with_name("ledger")

#: the longest any single wait on a process or a server may take
PROCESS_TIMEOUT = 120.0

ENTERPRISE_REGISTERED = "ledger.enterprise:Enterprise.Registered"
USER_GRANTED = "ledger.user:User.Granted"
APPLICATION_SUBMITTED = "ledger.support_application:SupportApplication.Submitted"
BUDGET_LINE_TOPICS = (
    "ledger.budget_line:BudgetLine.Assigned",
    "ledger.budget_line:BudgetLine.Adjusted",
)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now (bound to port 0, then freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ledger_env(directory: Path) -> dict[str, str]:
    """The environment of the ``ledger`` processes of one test: its own replay directory and
    signing-key path under ``directory``, replay snapshots off (a cache, not under test here,
    whose background work would only add noise), no default database."""
    env = {**os.environ}
    env.pop("LEDGER_DATABASE_URL", None)
    env.update(
        LEDGER_REPLAY_SNAPSHOT_EVERY="0",
        LEDGER_REPLAY_DIR=str(directory / "replay"),
        LEDGER_SIGNING_KEY=str(directory / "signing-key.pem"),
        PYTHONUNBUFFERED="1",
    )
    return env


def last_lines(text: str, count: int = 30) -> str:
    return "\n".join(text.splitlines()[-count:])


# -- processes -------------------------------------------------------------------------------


@dataclass
class Process:
    """A ``ledger`` command running in its own process group, its output in a file."""

    args: Sequence[str]
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill9(self) -> None:
        """SIGKILL the whole process group (the command and anything it started)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def terminate(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not ended within ``timeout`` seconds."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        self.kill9()

    def wait(self, timeout: float = PROCESS_TIMEOUT) -> int:
        """Its exit status; killed (and a failure raised) if it runs longer than ``timeout``."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(
                f"`{' '.join(self.args)}` ran longer than {timeout:.0f} s; killed. Output:\n"
                + last_lines(self.output())
            ) from None


class Processes:
    """Starts ``ledger`` commands and, at :meth:`close`, kills every one still running."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.started: list[Process] = []
        self._names = itertools.count(1)

    def spawn(self, url: str, *args: str) -> Process:
        command = [str(LEDGER_SCRIPT), "--database-url", url, *args]
        label = re.sub(r"[^A-Za-z0-9.]+", "-", " ".join(args[:2]))
        log_path = self.directory / f"{next(self._names):02d}-{label}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(command, popen, log_path)
        self.started.append(process)
        return process

    def run(self, url: str, *args: str, timeout: float = PROCESS_TIMEOUT) -> tuple[int, str]:
        """Run a ``ledger`` command to its end (bounded): (exit status, output)."""
        process = self.spawn(url, *args)
        status = process.wait(timeout)
        return status, process.output()

    def add_users(self, url: str, *people: tuple[str, str, str]) -> list[str]:
        """``ledger users add`` for each (name, role, department), side by side; their
        tokens (each the last line of its output)."""
        running = [
            self.spawn(url, "users", "add", "--name", n, "--role", r, "--department", d)
            for n, r, d in people
        ]
        tokens = []
        for process in running:
            status = process.wait(60)
            output = process.output()
            assert status == 0, f"`ledger users add` failed ({status}):\n{output}"
            tokens.append(output.strip().splitlines()[-1].strip())
        return tokens

    def close(self) -> None:
        for process in self.started:
            if process.alive():
                process.kill9()
            else:
                process.popen.wait(timeout=5)


# -- the server ------------------------------------------------------------------------------


class LedgerServer:
    """``ledger serve`` on 127.0.0.1 at a free port, in its own process group, with
    ``--workers workers`` (``None``: the command's default, one per core)."""

    def __init__(self, processes: Processes, url: str, workers: int | None = 1) -> None:
        self.processes = processes
        self.url = url
        self.workers = workers
        self.port = free_port()
        self.process: Process | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> LedgerServer:
        """Launch it and wait until it answers."""
        self.launch().wait_healthy(timeout)
        return self

    def launch(self) -> LedgerServer:
        """Start the process; :meth:`wait_healthy` waits until it answers."""
        assert self.process is None or not self.process.alive(), "already running"
        workers = () if self.workers is None else ("--workers", str(self.workers))
        self.process = self.processes.spawn(
            self.url,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            *workers,
        )
        self.starts += 1
        return self

    def wait_healthy(self, timeout: float = 60.0) -> dict[str, Any]:
        """Wait (at most ``timeout`` s) until ``GET /api/health`` answers 200."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise AssertionError(
                    f"`ledger serve` ended with {self.process.popen.returncode}:\n"
                    + last_lines(self.process.output())
                )
            try:
                answer = httpx.get(f"{self.base_url}/api/health", timeout=2)
            except httpx.TransportError as error:
                last = repr(error)
            else:
                if answer.status_code == 200:
                    health: dict[str, Any] = answer.json()
                    return health
                last = f"{answer.status_code} {answer.text[:200]}"
            time.sleep(0.05)
        raise AssertionError(
            f"`ledger serve` did not answer GET /api/health within {timeout:.0f} s ({last}):\n"
            + last_lines(self.process.output())
        )

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill9()

    def restart(self, timeout: float = 60.0) -> LedgerServer:
        """Start it again on the same port (killed first if it still runs)."""
        if self.process is not None and self.process.alive():
            self.kill9()
        return self.start(timeout)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()

    def output(self) -> str:
        """What every run of the server printed (each run has its own log file)."""
        return "\n".join(p.output() for p in self.processes.started if "serve" in p.args)


# -- commands and the load -------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One command to send: its path, body and token, and the natural key that finds it in
    the store (the event topic, the field, its unique value)."""

    path: str
    body: dict[str, Any]
    token: str
    topic: str
    field: str
    value: str


class TaxCodes:
    """Unique 10-digit tax codes (``9`` then a random 4-digit run number then a counter: no
    demo enterprise's code starts with 9), thread-safe."""

    def __init__(self) -> None:
        self.run = random.randrange(10_000)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            n = next(self._counter)
        return f"9{self.run:04d}{n:05d}"

    def prefix(self) -> str:
        return f"9{self.run:04d}"


def enterprise(token: str, tax_code: str) -> Command:
    """``POST /api/enterprises`` of a new enterprise with ``tax_code`` (officer of SKHCN)."""
    body = {
        "tax_code": tax_code,
        "name": f"Công ty TNHH Thử tải {tax_code}",
        "district": "QH-CAUGIAY",
        "sector": "industry",
        "size": "small",
    }
    return Command("/api/enterprises", body, token, ENTERPRISE_REGISTERED, "tax_code", tax_code)


@dataclass(frozen=True)
class Ack:
    """An acknowledged command: its key, the answer, when it was sent and acknowledged."""

    command: Command
    key: str
    status: int
    body: dict[str, Any]
    sent_at: float
    acked_at: float
    attempts: int
    replayed: bool
    #: when the attempt that was acknowledged was sent
    last_sent_at: float

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def position(self) -> int:
        return int(self.body["position"])

    @property
    def latency(self) -> float:
        return self.acked_at - self.sent_at


def problem_code(answer: httpx.Response) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        return str(answer.json().get("code", ""))
    return ""


def retryable(answer: httpx.Response) -> bool:
    """Worth sending again with the same key: the server could not do it now."""
    if answer.status_code >= 500 or answer.status_code == 429:
        return True
    return answer.status_code == 409 and problem_code(answer) == "concurrency_conflict"


class Load:
    """``clients`` threads, each sending ``next_command(client, n)`` in a loop until
    :meth:`stop` (and telling ``on_ack(client, ack)`` what was acknowledged). Every command
    gets a fresh Idempotency-Key and is sent again with the SAME key after a connection
    error, a 5xx, a 429 or a 409 ``concurrency_conflict`` until it is acknowledged, for at
    most ``command_timeout`` seconds; a command in flight when the load is stopped is carried
    on until acknowledged (or given up), so every command sent is accounted for."""

    def __init__(
        self,
        base_url: str,
        next_command: Callable[[int, int], Command],
        clients: int = 8,
        command_timeout: float = 45.0,
        request_timeout: float = 15.0,
        on_ack: Callable[[int, Ack], None] | None = None,
    ) -> None:
        self.base_url = base_url
        #: called in the client's thread with each of its acknowledged commands
        self.on_ack = on_ack
        self.next_command = next_command
        self.clients = clients
        self.command_timeout = command_timeout
        self.request_timeout = request_timeout
        self.acks: list[Ack] = []
        #: every answer seen, by kind ("201", "201 replayed", "503 storage_unavailable",
        #: "connection error", …)
        self.answers: Counter[str] = Counter()
        #: 500 answers (a defect whatever the fault): "path: body"
        self.server_errors: list[str] = []
        #: commands not acknowledged: refused with a 4xx that is no reason to retry, or
        #: given up after ``command_timeout`` seconds
        self.failures: list[str] = []
        #: errors of the client threads themselves (a bug of the harness)
        self.crashes: list[str] = []
        #: every command sent (acknowledged or not)
        self.commands: list[Command] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started_at = 0.0
        self.stopped_at = 0.0

    def start(self) -> Load:
        self.started_at = time.monotonic()
        self._threads = [
            threading.Thread(target=self._client, args=(n,), name=f"load-{n}", daemon=True)
            for n in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> Load:
        """Stop sending new commands; wait (bounded) until those in flight are answered."""
        self._stop.set()
        deadline = time.monotonic() + self.command_timeout + self.request_timeout + 5
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        self.stopped_at = time.monotonic()
        assert not stuck, f"load clients still running after their deadline: {stuck}"
        return self

    def run_for(self, seconds: float) -> Load:
        self.start()
        time.sleep(seconds)
        return self.stop()

    @property
    def sent(self) -> int:
        return len(self.commands)

    def acked_after(self, moment: float) -> list[Ack]:
        with self._lock:
            return [a for a in self.acks if a.acked_at > moment]

    def _note(self, kind: str) -> None:
        with self._lock:
            self.answers[kind] += 1

    def _client(self, client: int) -> None:
        try:
            with httpx.Client(base_url=self.base_url, timeout=self.request_timeout) as http:
                for n in itertools.count():
                    if self._stop.is_set():
                        return
                    command = self.next_command(client, n)
                    with self._lock:
                        self.commands.append(command)
                    ack = self.carry_out(http, command)
                    if ack is not None and self.on_ack is not None:
                        self.on_ack(client, ack)
        except Exception as error:  # noqa: BLE001 - reported by the test, not lost in a thread
            with self._lock:
                self.crashes.append(f"client {client}: {error!r}")

    def carry_out(self, http: httpx.Client, command: Command) -> Ack | None:
        """Send ``command`` until it is acknowledged (bounded); record the outcome."""
        key = uuid.uuid4().hex
        headers = {"Authorization": f"Bearer {command.token}", "Idempotency-Key": key}
        sent_at = time.monotonic()
        deadline = sent_at + self.command_timeout
        for attempt in itertools.count(1):
            pause = min(0.05 * attempt, 0.5)
            attempt_sent_at = time.monotonic()
            try:
                answer = http.post(command.path, json=command.body, headers=headers)
            except httpx.TransportError as error:
                self._note(f"connection error ({type(error).__name__})")
                last = repr(error)
            else:
                replayed = answer.headers.get("idempotent-replayed") == "true"
                kind = f"{answer.status_code} {problem_code(answer)}".strip()
                self._note(kind + (" replayed" if replayed else ""))
                last = f"{answer.status_code} {answer.text[:300]}"
                if answer.status_code in (200, 201):
                    ack = Ack(
                        command,
                        key,
                        answer.status_code,
                        answer.json(),
                        sent_at,
                        time.monotonic(),
                        attempt,
                        replayed,
                        attempt_sent_at,
                    )
                    with self._lock:
                        self.acks.append(ack)
                    return ack
                if answer.status_code == 500:
                    with self._lock:
                        self.server_errors.append(f"{command.path}: {answer.text[:300]}")
                if not retryable(answer):
                    with self._lock:
                        self.failures.append(f"{command.path} {command.value}: {last}")
                    return None
                retry_after = answer.headers.get("retry-after", "")
                if retry_after.isdigit():
                    pause = min(float(retry_after), 1.0)
            if time.monotonic() + pause > deadline:
                with self._lock:
                    self.failures.append(
                        f"{command.path} {command.value}: not acknowledged after {attempt} "
                        f"attempts in {self.command_timeout:.0f} s; last: {last}"
                    )
                return None
            time.sleep(pause)
        return None  # unreachable: itertools.count() never ends

    def summary(self) -> str:
        with self._lock:
            answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.answers.items()))
            return f"{len(self.acks)} acknowledged of {self.sent} sent; answers: {answers}"


def percentile(values: Iterable[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# -- the store, read directly ----------------------------------------------------------------


def new_engine(url: str, **options: Any) -> sa.Engine:
    """An engine without a pool; on PostgreSQL, connecting gives up after 10 s."""
    if make_url(url).get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": 10}
    return sa.create_engine(url, poolclass=sa.pool.NullPool, **options)


@contextlib.contextmanager
def engine_for(url: str) -> Iterator[sa.Engine]:
    engine = new_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def log_positions(url: str) -> tuple[int, int, int]:
    """(count, min, max) of the event positions."""
    with engine_for(url) as engine, engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM ledger_events"
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def stored_values(url: str, topics: Iterable[str], field: str) -> Counter[str]:
    """How many stored events of ``topics`` carry each value of ``field`` (a field of the
    event, or one of its references)."""
    found: Counter[str] = Counter()
    query = sa.text("SELECT state FROM ledger_events WHERE topic IN :topics").bindparams(
        sa.bindparam("topics", expanding=True)
    )
    with engine_for(url) as engine, engine.connect() as connection:
        for (state,) in connection.execute(query, {"topics": list(topics)}):
            data = json.loads(bytes(state))
            value = data.get(field, (data.get("references") or {}).get(field))
            if value is not None:
                found[str(value)] += 1
    return found


def projection_rows(url: str) -> list[dict[str, Any]]:
    """The tracking rows of the projections (name, position, rebuild_set, …)."""
    with engine_for(url) as engine, engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM projection_state ORDER BY name"))
        return [dict(row._mapping) for row in rows]


def pg_database_name(url: str) -> str:
    name = make_url(url).database
    assert name, url
    return name


def terminate_backends(admin_url: str, database: str) -> list[int]:
    """``pg_terminate_backend`` every connection to ``database`` but this one (it connects to
    the server's own ``postgres`` database through ``admin_url``); the pids terminated."""
    engine = new_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            ).all()
    finally:
        engine.dispose()
    return [int(pid) for pid, done in rows if done]


def wait_for_a_writing_command(admin_url: str, database: str, timeout: float = 2.0) -> bool:
    """Wait (at most ``timeout`` s) until a transaction on ``database`` has written and not
    yet ended (``backend_xid`` set in ``pg_stat_activity``), its last statement on the
    events or the idempotency table: the moment to kill its server if a position taken by an
    unfinished command is to be lost with it. False if none was seen in time."""
    engine = new_engine(admin_url, isolation_level="AUTOCOMMIT")
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = :name "
        "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid() "
        "AND (query ILIKE '%ledger_events%' OR query ILIKE '%idempotency_keys%')"
    )
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                if connection.execute(query, {"name": database}).scalar():
                    return True
    finally:
        engine.dispose()
    return False


# -- the checks after a fault ----------------------------------------------------------------


def get_json(base_url: str, path: str, token: str | None = None, timeout: float = 10) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(f"{base_url}{path}", headers=headers, timeout=timeout)
    assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text[:300]}"
    return answer.json()


def assert_positions_contiguous(url: str) -> int:
    """Positions run 1, 2, …, N without a hole (``count(*)`` = ``max(id)``); N."""
    count, first, last = log_positions(url)
    assert (count, first) == (last, min(1, last)), (
        f"positions have holes: {count} events between positions {first} and {last} "
        f"({last - count} position(s) missing)"
    )
    return last


@dataclass
class Live:
    """What the server's live projections reached, polled without ``min_position``."""

    head: int
    reached: bool
    seconds: float
    projections: list[dict[str, Any]] = field(default_factory=list)
    audit_trail_position: int | None = None

    def describe(self) -> str:
        behind = {p["name"]: p["position"] for p in self.projections if p["position"] != self.head}
        errors = {
            p["name"]: " ".join(p["last_error"].split())[:160]
            for p in self.projections
            if p.get("last_error")
        }
        return (
            f"head {self.head}; after {self.seconds:.1f} s the projections behind are {behind}, "
            f"the audit trail answers position {self.audit_trail_position}; last errors: "
            f"{errors or 'none'}"
        )


def poll_live_projections(server: LedgerServer, admin_token: str, timeout: float = 10.0) -> Live:
    """Poll ``GET /api/admin/projections`` and the audit trail (no ``min_position``) until
    every projection's position equals the head of the log, at most ``timeout`` seconds."""
    started = time.monotonic()
    live = Live(head=-1, reached=False, seconds=0.0)
    with httpx.Client(base_url=server.base_url, timeout=5) as http:
        headers = {"Authorization": f"Bearer {admin_token}"}
        while True:
            with contextlib.suppress(httpx.TransportError, ValueError, KeyError):
                head = http.get("/api/health").json()["position"]
                states = http.get("/api/admin/projections", headers=headers).json()
                trail = http.get(
                    "/api/reports/audit-trail",
                    params={"order": "desc", "page_size": 1},
                    headers=headers,
                ).json()
                live = Live(head, False, time.monotonic() - started, states, trail.get("position"))
                if all(s["position"] == head for s in states) and trail.get("position") == head:
                    live.reached = True
                    return live
            if time.monotonic() - started > timeout:
                live.seconds = time.monotonic() - started
                return live
            time.sleep(0.1)


def assert_projections_live(server: LedgerServer, admin_token: str, timeout: float = 10.0) -> Live:
    live = poll_live_projections(server, admin_token, timeout)
    assert live.reached, (
        f"the live projections did not reach the head within {timeout:.0f} s without "
        f"min_position: {live.describe()}"
    )
    return live


def assert_commands_stored_once(url: str, load: Load, base_url: str | None = None) -> None:
    """Every command the load acknowledged is in the store exactly once (found by its
    natural key), no command it sent is stored without having been acknowledged, and (given
    ``base_url``) every acknowledged enterprise is readable with GET."""
    kinds = {(c.topic, c.field) for c in load.commands}
    for topic, name in sorted(kinds):
        acks = [a for a in load.acks if (a.command.topic, a.command.field) == (topic, name)]
        sent = {c.value for c in load.commands if (c.topic, c.field) == (topic, name)}
        acked = Counter(a.command.value for a in acks)
        assert not acked or max(acked.values()) == 1, f"acknowledged twice: {acked.most_common(3)}"
        stored = {v: n for v, n in stored_values(url, [topic], name).items() if v in sent}
        twice = {v: n for v, n in stored.items() if n > 1}
        missing = sorted(set(acked) - set(stored))
        unacknowledged = sorted(set(stored) - set(acked))
        assert not twice, f"{name}: stored more than once: {twice}"
        assert not missing, f"{name}: acknowledged but not stored: {missing[:10]}"
        assert not unacknowledged, f"{name}: stored, never acknowledged: {unacknowledged[:10]}"
        ids = Counter(a.id for a in acks)
        assert not ids or max(ids.values()) == 1, f"one id for two commands: {ids.most_common(2)}"
        positions = Counter(a.position for a in acks)
        assert not positions or max(positions.values()) == 1, (
            f"two commands answered one position: {positions.most_common(2)}"
        )
    if base_url is not None:
        enterprises = [a for a in load.acks if a.command.topic == ENTERPRISE_REGISTERED]
        unreadable = read_back(base_url, enterprises)
        assert not unreadable, f"acknowledged enterprises unreadable: {unreadable[:5]}"


def read_back(base_url: str, acks: Sequence[Ack], clients: int = 4) -> list[str]:
    """GET /api/enterprises/{id} of every acknowledged enterprise (four clients at once);
    those not answered 200 with their tax code."""
    wrong: list[str] = []

    def read(part: Sequence[Ack]) -> None:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            for ack in part:
                headers = {"Authorization": f"Bearer {ack.command.token}"}
                answer = http.get(f"/api/enterprises/{ack.id}", headers=headers)
                if answer.status_code != 200 or answer.json()["tax_code"] != ack.command.value:
                    wrong.append(f"{ack.id}: {answer.status_code} {answer.text[:100]}")

    with ThreadPoolExecutor(clients) as pool:
        for done in [pool.submit(read, acks[n::clients]) for n in range(clients)]:
            done.result(timeout=120)
    return wrong


def assert_load_clean(load: Load) -> None:
    """No 500, no client crash, every command sent acknowledged."""
    assert not load.crashes, f"load clients crashed: {load.crashes}"
    assert not load.server_errors, (
        f"{len(load.server_errors)} answers were 500 (a 503 says 'try again', a 500 is a "
        f"defect): {Counter(load.server_errors).most_common(2)}; {load.summary()}"
    )
    assert not load.failures, (
        f"{len(load.failures)} commands not acknowledged: {load.failures[:3]}; {load.summary()}"
    )
    assert len(load.acks) == load.sent, load.summary()


def assert_ledger_whole(processes: Processes, url: str) -> None:
    """Positions contiguous; ``ledger verify`` and ``ledger projections check`` exit 0."""
    problems: list[str] = []
    _collect(problems, assert_positions_contiguous, url)
    _collect(problems, assert_verify_and_check, processes, url)
    assert not problems, "\n".join(problems)


def assert_verify_and_check(processes: Processes, url: str) -> None:
    """``ledger verify``, then ``ledger projections check``: both exit 0. One after the
    other: verify brings the Merkle tree up to the head, which check must not see half-way."""
    failed = []
    for args in [("verify",), ("projections", "check")]:
        status, output = processes.run(url, *args)
        if status != 0:
            failed.append(f"`ledger {' '.join(args)}` exited {status}:\n{last_lines(output, 10)}")
    assert not failed, "\n".join(failed)


def assert_recovered(
    processes: Processes,
    server: LedgerServer,
    admin_token: str,
    load: Load | None = None,
    live_within: float | None = 10.0,
) -> None:
    """Everything the suite asks after a fault, the server running: of the load, no 500 and
    every command acknowledged, stored once and readable; positions contiguous; the live
    projections at the head without ``min_position`` within ``live_within`` seconds (unless
    ``None``);
    ``ledger verify`` and ``ledger projections check`` exit 0. Every check is made, and
    every one that fails is named in the one assertion error."""
    problems: list[str] = []
    if load is not None:
        _collect(problems, assert_load_clean, load)
        _collect(problems, assert_commands_stored_once, server.url, load, server.base_url)
    _collect(problems, assert_positions_contiguous, server.url)
    if live_within is not None:
        _collect(problems, assert_projections_live, server, admin_token, live_within)
    _collect(problems, assert_verify_and_check, processes, server.url)
    assert not problems, "\n".join(problems)


def _collect(problems: list[str], check: Callable[..., object], *args: Any) -> None:
    try:
        check(*args)
    except AssertionError as error:
        problems.append(f"- {error}")
