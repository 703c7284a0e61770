"""A throw-away PostgreSQL primary and its streaming replica, for the read-replica test.

PostgreSQL's own tools, nothing home-made: ``initdb`` makes a primary in a temporary folder,
``pg_ctl`` starts it on a free port of 127.0.0.1, ``pg_basebackup -R -X stream`` copies it
into a standby (``-R`` writes its ``primary_conninfo`` and ``standby.signal``), which
``pg_ctl`` starts on another free port: a hot standby streaming the primary's WAL, open for
reads. Both run as the ``postgres`` user (the server refuses to run as root), with ``fsync``
off (nothing here must survive a crash), and are stopped and removed at the end.

The machine's own cluster cannot be copied instead: ``pg_basebackup`` copies a whole cluster
(every test's and benchmark's database), and its ``pg_hba.conf`` accepts no replication
connection.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "postgres"
#: the longest any one step may take (seconds)
STEP_TIMEOUT = 60


def unavailable() -> str | None:
    """Why a replica cannot be made here (None: it can)."""
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL 15 binaries at {BIN}"
    if os.geteuid() != 0:
        return f"making a cluster as the {USER} user needs root"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"no {USER} user"
    return None


@dataclass(frozen=True)
class Pair:
    """The database ``ledger`` on the primary and the same on its replica."""

    primary_url: str
    replica_url: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*command: str) -> None:
    done = subprocess.run(
        ["runuser", "-u", USER, "--", *command],
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"


def _start(data: Path, port: int, folder: Path) -> None:
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = folder / f"{data.name}.log"
    _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")


@contextmanager
def primary_and_replica(prepare: Callable[[str], None] | None = None) -> Iterator[Pair]:
    """A primary holding the database ``ledger`` (``prepare(url)``, given, runs on it before
    the copy: the migrations), and its streaming replica."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-replica-"))
    shutil.chown(folder, USER)
    primary, replica = folder / "primary", folder / "replica"
    started: list[Path] = []
    try:
        _as_postgres(
            str(BIN / "initdb"), "-D", str(primary), "-A", "trust", "-U", USER, "--no-sync"
        )
        primary_port = _free_port()
        _start(primary, primary_port, folder)
        started.append(primary)
        base = f"postgresql+psycopg2://{USER}@127.0.0.1:{primary_port}"
        _as_postgres(str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(primary_port), "ledger")
        if prepare is not None:
            prepare(f"{base}/ledger")
        _as_postgres(
            str(BIN / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary_port), "-U", USER),
            *("-D", str(replica), "-R", "-X", "stream", "-c", "fast"),
        )
        replica_port = _free_port()
        _start(replica, replica_port, folder)
        started.append(replica)
        yield Pair(
            f"{base}/ledger", f"postgresql+psycopg2://{USER}@127.0.0.1:{replica_port}/ledger"
        )
    finally:
        for data in reversed(started):
            subprocess.run(
                ["runuser", "-u", USER, "--", str(BIN / "pg_ctl"), "-D", str(data)]
                + ["-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=STEP_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        shutil.rmtree(folder, ignore_errors=True)
