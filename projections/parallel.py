"""A rebuild folded in worker processes, so that it uses every core.

The projector (:meth:`projections.projector.Projector.rebuild` with ``workers`` > 1) claims
the projections, empties their other table sets and, once the workers are done, folds the
events written since and switches the readers in one transaction, exactly as a rebuild in one
process does. What this module does in between:

- :func:`plan` splits the work into one task per worker. Each process reads and decodes the
  part of the log it folds, so the light projections, whose rows add up what came before
  them, go together into as few tasks as keep the workers even, each folding the whole log;
  a projection that appends a row per event and keeps only a little state besides (its
  :attr:`~projections.base.Projection.CONTEXT`: the audit trail, whose rows name their
  records and actors) is cut into ranges of positions that fill the rest. A range after the
  first folds the context events alone up to its start (a few per cent of the log, picked by
  the database), then its own events; only the last range writes the keyed rows. The cost of
  each fold is measured beforehand (:data:`COSTS`), in units of the reading and decoding of
  one event.
- :func:`run` starts the workers (forked: the modules are already imported), each with its
  own connections and its own writer thread (COPY on PostgreSQL; on SQLite the thread waits
  for the other workers' write lock while the fold goes on), and waits for them.
  A worker writes into the other table set only, batch by batch, and exits. If one fails or
  dies (SIGKILL, out of memory), the others are killed and :class:`WorkerFailed` (or the
  worker's own error) is raised: the projector records it and nothing is switched. A worker
  dies with the process that started it (``PR_SET_PDEATHSIG``) and checks, before each
  commit, that this process still lives: once the claim is gone with it, nothing of an
  orphan reaches the tables the next rebuild fills.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from multiprocessing.connection import wait
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine

from ledger.persistence import configure_engine
from ledger.service import Ledger
from projections.base import Projection
from projections.bulk import BackgroundWriter, Row
from projections.folding import gc_paused
from projections.registry import BY_NAME
from projections.source import read_batch, read_of_types

#: what folding (and writing) one event costs each projection, in units of reading and
#: decoding it (processor time of each fold alone, then of the tasks of a plan, at 100k
#: events of the demo on SQLite; ``bench/rebuild.py``); unknown: DEFAULT
COSTS: dict[str, float] = {
    "audit_trail": 2.65,
    "merkle": 2.2,
    "journal": 0.85,
    "program": 0.65,
    "registers": 0.6,
    "project_spend": 0.4,
    "department_activity": 0.2,
    "estimates": 0.15,
    "budget_execution": 0.13,
    "target_progress": 0.13,
}
DEFAULT = 0.4
#: the share of the log a range after the first reads for its context (the audit trail's:
#: the records' and users' first events, about 8 % of the demo's log)
CONTEXT_SHARE = 0.1
#: how much later than the soonest a plan may end if it does less work in all
NEARLY = 0.05
#: no range of fewer events than this (a worker costs its own start and reads)
SMALLEST_RANGE = 2_000


class WorkerFailed(RuntimeError):
    """A worker of a parallel rebuild died, or failed with an error that could not be
    handed back as it was."""


@dataclass(frozen=True)
class Task:
    """One worker's share: ``whole`` folded from the first event to ``end`` (the log's end
    for the rebuild), ``split`` only over the positions ``(start, stop]`` (after their context
    up to ``start``); ``keyed``: this share writes the split projections' keyed rows (the
    last range's)."""

    whole: tuple[str, ...]
    split: tuple[str, ...]
    start: int
    stop: int
    end: int
    keyed: bool

    @property
    def reads(self) -> tuple[int, int]:
        """The positions this task reads, after the first and up to the second."""
        return (0, self.end) if self.whole else (self.start, self.stop)


def cores() -> int:
    """The cores this process may run on (the default number of workers: of a rebuild, of
    the verification's hashing processes, of ``ledger serve``)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def can_open(engine: Engine) -> bool:
    """Whether worker processes can open ``engine``'s database (not an SQLite in memory)."""
    if engine.dialect.name != "sqlite":
        return True
    database = engine.url.database
    return bool(database) and database != ":memory:" and "mode=memory" not in str(engine.url)


def _cost(cls: type[Projection]) -> float:
    return COSTS.get(cls.NAME, DEFAULT)


def _groups(classes: list[type[Projection]], count: int) -> list[list[type[Projection]]]:
    """``classes`` in ``count`` groups of even cost (the costliest first, each to the
    cheapest group so far)."""
    groups: list[list[type[Projection]]] = [[] for _ in range(count)]
    for cls in sorted(classes, key=_cost, reverse=True):
        min(groups, key=lambda group: sum(map(_cost, group))).append(cls)
    return groups


def _ranges(loads: list[float], shared: list[bool], cost: float) -> tuple[float, list[float]]:
    """The shares of the split projections' log (adding up to 1) that make the workers,
    loaded with ``loads``, end together; a worker that reads the whole log anyway
    (``shared``) folds its share without reading it again. The time they end, and the
    shares."""

    def shares(end: float) -> list[float]:
        return [
            max(0.0, end - load - (0.0 if whole else CONTEXT_SHARE))
            / (cost + (0.0 if whole else 1.0))
            for load, whole in zip(loads, shared, strict=True)
        ]

    low, high = 0.0, max(loads) + cost + 1.0 + CONTEXT_SHARE
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if sum(shares(middle)) < 1 else (low, middle)
    found = shares(high)
    total = sum(found)
    return high, [share / total for share in found]


def plan(classes: list[type[Projection]], workers: int, head: int) -> list[Task]:
    """The tasks of a rebuild of ``classes`` over the log up to ``head`` by at most
    ``workers`` processes, the one that ends last as early as the costs say it can; one
    task means: fold in this process."""
    names = tuple(cls.NAME for cls in classes)
    one = [Task(names, (), 0, 0, head, True)]
    if workers <= 1 or head < 2 * SMALLEST_RANGE:
        return one
    split = [cls for cls in classes if cls.CONTEXT is not None]
    whole = [cls for cls in classes if cls.CONTEXT is None]
    split_cost = sum(map(_cost, split))
    found: list[tuple[float, float, list[list[type[Projection]]], list[float]]] = []
    for count in range(1 if whole else 0, min(workers, len(whole)) + 1):
        groups = _groups(whole, count) if count else []
        loads = [1.0 + sum(map(_cost, group)) for group in groups]
        loads += [0.0] * (workers - count)
        shared = [True] * count + [False] * (workers - count)
        if split:
            end, shares = _ranges(loads, shared, split_cost)
        else:
            end, shares = max(loads), [0.0] * workers
        work = sum(loads) + sum(
            share * (split_cost + (0.0 if whole_read else 1.0 + CONTEXT_SHARE))
            for share, whole_read in zip(shares, shared, strict=True)
        )
        found.append((end, work, groups, shares))
    # the plan that ends first, or one that ends nearly as soon with less work in all (each
    # whole-log group reads the log again: on cores shared with others, work is time)
    soonest = min(end for end, *_ in found)
    _, _, groups, shares = min(
        (each for each in found if each[0] <= soonest * (1 + NEARLY)), key=lambda each: each[1]
    )
    split_names = tuple(cls.NAME for cls in split)
    last = max((i for i, share in enumerate(shares) if share > 0), default=-1)
    tasks: list[Task] = []
    start = 0
    for i, share in enumerate(shares):
        group = tuple(cls.NAME for cls in groups[i]) if i < len(groups) else ()
        stop = head if i == last else min(head, start + round(share * head))
        if i != last and stop - start < SMALLEST_RANGE:
            stop = start  # too small to be worth a range: the next one takes it
        part = split_names if stop > start else ()
        if group or part:
            tasks.append(Task(group, part, start, stop, head, part != () and i == last))
        start = stop
    return tasks if len(tasks) > 1 else one


# -- the workers -----------------------------------------------------------------------------


def run(
    tasks: list[Task],
    ledger: Ledger,
    engine: Engine,
    tables: dict[str, dict[str, Table]],
    batch_size: int,
    report: Callable[[dict[str, int]], None],
) -> int:
    """Fold ``tasks`` in one worker process each into ``tables`` (by projection); return
    how many events the rebuild folded (the log up to the tasks' end). ``report`` is told,
    each time a worker has written a batch, how far each projection is: the position its
    worker reached, or for one folded in ranges, how many of its positions they folded."""
    context = multiprocessing.get_context("fork")
    head = tasks[0].end
    url = engine.url.render_as_string(hide_password=False)
    started: list[tuple[Any, Pipe]] = []
    try:
        for task in tasks:
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_worker,
                args=(task, ledger, url, tables, batch_size, writer, os.getpid()),
                name=f"rebuild-worker-{len(started)}",
                daemon=True,
            )
            process.start()
            writer.close()
            started.append((process, reader))
        return _wait(tasks, started, head, report)
    finally:
        for process, reader in started:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
            process.join(timeout=30)
            reader.close()


def _wait(
    tasks: list[Task],
    started: list[tuple[Any, Pipe]],
    head: int,
    report: Callable[[dict[str, int]], None],
) -> int:
    """Read the workers' reports until each has said it is done; raise the first failure."""
    done: dict[int, int] = {}
    reached = [0] * len(tasks)  # the position each worker has written up to
    open_: dict[Any, int] = {reader: i for i, (_, reader) in enumerate(started)}
    while len(done) < len(tasks):
        for ready in wait(list(open_), timeout=1.0):
            i = open_[ready]
            process, reader = started[i]
            try:
                message: tuple[Any, ...] = reader.recv()
            except (EOFError, OSError, pickle.UnpicklingError):
                del open_[ready]
                process.join(timeout=10)
                if i not in done:
                    raise WorkerFailed(_death(process)) from None
                continue
            kind = message[0]
            if kind == "progress":
                reached[i] = message[1]
            elif kind == "done":
                done[i] = message[1]
            else:
                raise _error(message[1], message[2])
        for i, (process, _) in enumerate(started):
            if i not in done and not process.is_alive() and process.exitcode not in (None, 0):
                raise WorkerFailed(_death(process))
        report(_positions(tasks, reached))
    whole = [done[i] for i, task in enumerate(tasks) if task.whole]
    return max(whole) if whole else sum(done.values())  # the ranges follow each other


def _positions(tasks: list[Task], reached: list[int]) -> dict[str, int]:
    """How far each projection of ``tasks`` is, its workers having written up to
    ``reached``."""
    positions: dict[str, int] = {}
    for task, position in zip(tasks, reached, strict=True):
        for name in task.whole:
            positions[name] = position
        for name in task.split:
            done = max(0, min(position, task.stop) - task.start)
            positions[name] = positions.get(name, 0) + done
    return positions


def _death(process: multiprocessing.process.BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        how = f"was killed by {signal.Signals(-code).name}"
    else:
        how = f"exited with status {code}" if code is not None else "stopped answering"
    return f"a rebuild worker ({process.name}, pid {process.pid}) {how}; nothing was switched"


def _error(pickled: bytes | None, text: str) -> BaseException:
    """The worker's error as it raised it (its class, arguments and attributes, made again
    without calling its ``__init__``, which may take other arguments than it keeps), or
    :class:`WorkerFailed` with its text."""
    if pickled is not None:
        with contextlib.suppress(Exception):
            cls, args, state = pickle.loads(pickled)
            if isinstance(cls, type) and issubclass(cls, Exception):
                error: Exception = cls.__new__(cls)
                Exception.__init__(error, *args)
                error.__dict__.update(state)
                return error
    return WorkerFailed(text)


def _die_with(parent: int) -> None:
    """Be killed when the process that started this one dies (Linux), and leave at once if
    it is already gone."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def _worker(
    task: Task,
    ledger: Ledger,
    url: str,
    tables: dict[str, dict[str, Table]],
    batch_size: int,
    pipe: Pipe,
    parent: int,
) -> None:
    _die_with(parent)
    try:
        with gc_paused():
            folded = _fold(task, ledger, url, tables, batch_size, pipe, parent)
        pipe.send(("done", folded))
    except BaseException as error:  # handed to the parent, which decides
        try:
            pickled: bytes | None = pickle.dumps((type(error), error.args, vars(error)))
        except Exception:
            pickled = None
        text = f"{type(error).__name__}: {error}"
        with contextlib.suppress(Exception):
            pipe.send(("failed", pickled, text))
        traceback.print_exc()
        os._exit(1)
    finally:
        pipe.close()


def _fold(
    task: Task,
    ledger: Ledger,
    url: str,
    tables: dict[str, dict[str, Table]],
    batch_size: int,
    pipe: Pipe,
    parent: int,
) -> int:
    """Fold ``task`` into ``tables`` on connections of this process's own; the events
    folded."""
    engine = create_engine(url)  # the parent's pools stay untouched (forked sockets)
    configure_engine(engine)
    whole = [BY_NAME[name](tables[name], rebuilding=True) for name in task.whole]
    split = [BY_NAME[name](tables[name], rebuilding=True) for name in task.split]

    def still_wanted(_: Connection) -> None:
        if os.getppid() != parent:  # the rebuild's process has died: so has its claim
            os._exit(1)

    def written_upto(position: int) -> Callable[[Connection], None]:
        def commit(connection: Connection) -> None:  # in the transaction that writes them
            still_wanted(connection)
            pipe.send(("progress", position))

        return commit

    folded = 0
    try:
        # a thread writes, on SQLite too: waiting for another worker's write lock, this
        # worker folds on
        with BackgroundWriter.running(engine, threaded=True) as writer:
            if split and task.start > 0:
                context = tuple({t for p in split for t in p.CONTEXT or ()})
                with engine.connect() as reader:
                    for batch in read_of_types(ledger, reader, context, task.start, batch_size):
                        for projection in split:
                            projection.fold(batch)
                            projection.drain(keyed=False)  # the rows of the range before
            after, end = task.reads
            while after < end:
                with engine.connect() as reader:
                    batch = read_batch(ledger, reader, after, batch_size, end)
                if not batch:
                    break
                rows: list[tuple[Table, list[Row]]] = []
                for projection in whole:
                    projection.fold(batch)
                    rows.extend(projection.drain(keyed=False))
                mine = [e for e in batch if task.start < e.position <= task.stop]
                if split and mine:
                    for projection in split:
                        projection.fold(mine)
                        rows.extend(projection.drain(keyed=False))
                folded += len(batch)
                after = batch[-1].position
                writer.put(rows, written_upto(after))
            keyed = [rows for p in whole for rows in p.drain(keyed=True)]
            if task.keyed:
                keyed += [rows for p in split for rows in p.drain(keyed=True)]
            writer.put(keyed, still_wanted)
    finally:
        engine.dispose()
    return folded
