"""``ledger serve --workers N`` (N > 1): N HTTP worker processes, one process of background work.

The layout (README, "Serving on every core"):

- the ``ledger serve`` process is uvicorn's own process manager (``uvicorn.run(…,
  workers=N)``: :class:`uvicorn.supervisors.Multiprocess`). It binds the port once, starts
  N worker processes (spawned, not forked) that share it, replaces a worker that dies or
  stops answering its health checks, and on SIGTERM or SIGINT stops every worker (each
  finishes the requests it holds) before it ends; SIGHUP replaces them one by one,
  SIGTTIN/SIGTTOU add or remove one;
- the same process runs the background work, and it alone
  (:class:`~projections.background.Background`: the live follower and the replay-snapshot
  maker, as threads beside the manager's loop): the projections' tracking rows have one
  writer. It publishes their health on a :class:`~projections.health.Board` (a file in a
  temporary folder of its own, removed when it ends);
- each worker runs :func:`worker_app`: the HTTP app over its own engine, made with a board
  (never with a follower of its own): its projectors never fold, a report asked with
  ``min_position`` waits for the tracking row, in the database, to reach it; its
  ``/api/health`` reads the board. A worker whose manager has gone (killed with SIGKILL)
  stops by itself instead of serving on without a follower.

What the workers are told, by environment (a spawned worker inherits the manager's): the
database URL (``LEDGER_DATABASE_URL``), the session secret (``LEDGER_SESSION_SECRET``: one
for every worker, drawn here when it is not set, so that a page session begun on one worker
goes on on another) and the board's path (:data:`BOARD_VARIABLE`, the ledger's own).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from api.app import create_app
from ledger import settings
from ledger.service import Ledger
from projections.background import Background
from projections.health import Board
from projections.projector import Projector

#: the environment variable that tells a worker where the board is (set by :func:`serve`)
BOARD_VARIABLE = "LEDGER_SERVE_BOARD"
#: the start of the name of a server's board folder (then its pid, ``-`` and random letters)
BOARD_PREFIX = "ledger-serve-"
#: how often a worker looks whether its manager still runs (seconds)
PARENT_CHECK_EVERY = 1.0
#: how long the manager waits for a worker to answer its health check before it kills and
#: replaces it (seconds): gunicorn's default worker timeout. uvicorn's own, 5 s, kills
#: workers still importing the app on a busy machine (a spawned worker imports it afresh)
WORKER_HEALTHCHECK = 30


def serve(url: str, host: str, port: int, log_level: str, workers: int) -> None:
    """Run the server of ``workers`` HTTP worker processes until SIGTERM or SIGINT."""
    ledger = Ledger(url)
    remove_stale_boards(Path(tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix=f"{BOARD_PREFIX}{os.getpid()}-"))
    board = Board(folder / "background.json")
    background = Background(Projector(ledger), board, workers)
    os.environ[settings.DATABASE_URL.name] = ledger.url
    if not settings.SESSION_SECRET.get():
        os.environ[settings.SESSION_SECRET.name] = secrets.token_urlsafe(48)
    os.environ[BOARD_VARIABLE] = str(board.path)
    background.start()
    try:
        uvicorn.run(
            f"{__name__}:{worker_app.__name__}",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK,
        )
    finally:
        background.stop()
        shutil.rmtree(folder, ignore_errors=True)
        ledger.engine.dispose()


def remove_stale_boards(parent: Path) -> list[Path]:
    """Remove the board folders in ``parent`` of servers that no longer run (killed with
    SIGKILL, they could not remove their own); answer those removed."""
    removed = []
    for folder in parent.glob(f"{BOARD_PREFIX}*-*"):
        pid = folder.name.removeprefix(BOARD_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def worker_app() -> Starlette:
    """The app of one HTTP worker (uvicorn calls this in each worker process it starts)."""
    board = Board(Path(os.environ[BOARD_VARIABLE]))
    manager = board.read().pid or os.getppid()
    threading.Thread(
        target=_stop_without, args=(manager,), name="manager-watch", daemon=True
    ).start()
    return create_app(Ledger(settings.DATABASE_URL.get()), board=board)


def _stop_without(manager: int) -> None:
    """Stop this worker (SIGTERM to itself: uvicorn finishes its requests, then ends) once
    its manager ``manager`` is gone: its follower with it."""
    while os.getppid() == manager:
        time.sleep(PARENT_CHECK_EVERY)
    os.kill(os.getpid(), signal.SIGTERM)
