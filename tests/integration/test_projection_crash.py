"""A follower killed in the middle of a batch loses that batch and nothing else.

The follower runs in its own process and folds in batches; one batch hangs after writing its
read-model rows and before its tracking row moves, and is killed there with SIGKILL. Its
transaction never commits: the batches before it stay, the batch itself is gone, and a
restarted follower folds it again exactly once. The result equals a rebuild from the log.
"""

from __future__ import annotations

import math
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import select

from ledger.service import Ledger
from projections.projector import Projector
from projections.registry import BY_NAME, PROJECTIONS
from tests.support.demo import load_demo
from tests.support.projections import differences, names, opened, snapshots

ROOT = Path(__file__).resolve().parents[2]
BATCH = 100

#: The follower: ``python follower.py URL BATCH HANG_AT``. It catches up in a loop in batches
#: of BATCH events; with HANG_AT = n > 0 the n-th batch it folds (counted over every
#: projection) hangs once its rows are written, before the tracking row moves and commits.
FOLLOWER = """
import sys, time

from ledger.service import Ledger
from projections.registry import PROJECTIONS
from projections.projector import Projector

url, batch_size, hang_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
batches = 0


def hanging(flush):
    def flush_then_hang_at_the_chosen_batch(self, connection):
        global batches
        flush(self, connection)
        batches += 1
        if batches == hang_at:
            print(f"hanging in batch {batches}, in {self.NAME}", flush=True)
            time.sleep(600)

    return flush_then_hang_at_the_chosen_batch


for cls in PROJECTIONS:
    cls.flush = hanging(cls.flush)

projector = Projector(Ledger(url))
while projector.catch_up(batch_size=batch_size) > 0:
    pass
print("caught up", flush=True)
"""


def start_follower(script: Path, url: str, hang_at: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), url, str(BATCH), str(hang_at)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, waiting at most ``timeout`` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


def event_positions(ledger: Ledger) -> list[int]:
    table = ledger.events_table
    with ledger.engine.connect() as connection:
        return list(connection.execute(select(table.c.id).order_by(table.c.id)).scalars())


def test_a_follower_killed_inside_a_batch_restarts_without_counting_anything_twice(
    ledger: Ledger, database_url: str, tmp_path: Path
) -> None:
    # Step 1: the demo program in the log; nothing folded yet.
    load_demo(ledger, scale=0.02, unfolded=True)
    positions = event_positions(ledger)
    head = ledger.position()
    assert positions[-1] == head

    # Step 2: a follower process catches up in batches of BATCH events and hangs in the
    # middle batch of the middle projection (the projections before it are complete).
    script = tmp_path / "follower.py"
    script.write_text(FOLLOWER)
    per_projection = math.ceil(len(positions) / BATCH)
    middle, done_batches = len(PROJECTIONS) // 2, per_projection // 2
    assert done_batches >= 1, "the log should take several batches"
    hang_at = middle * per_projection + done_batches + 1
    follower = start_follower(script, database_url, hang_at)
    try:
        line = first_line(follower, timeout=60)
        assert follower.poll() is None, "the follower must still be inside the batch"
        hanging = line.startswith(f"hanging in batch {hang_at},")

        # Step 3: SIGKILL while the batch's rows are written and not committed.
        follower.send_signal(signal.SIGKILL)
    finally:
        if follower.poll() is None:
            follower.kill()
        _, err = follower.communicate(timeout=10)  # also closes the pipes
    assert hanging, f"the follower did not hang as planned: {line!r} {err}"
    assert follower.returncode == -signal.SIGKILL

    # Step 4: the committed batches stayed and the killed batch left no trace: the projections
    # before the middle one are complete, the middle one stands at the end of its last
    # committed batch, the ones after it have folded nothing.
    reached = {s.name: s.position for s in Projector(ledger).status()}
    expected = {
        name: head if i < middle else positions[done_batches * BATCH - 1] if i == middle else 0
        for i, name in enumerate(names())
    }
    assert reached == expected

    # Step 5: a restarted follower finishes.
    restarted = start_follower(script, database_url, hang_at=0)
    out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err
    assert out.strip() == "caught up"

    # Step 6: what the followers folded equals a rebuild by a fresh projector, on a fresh
    # ledger over the same database.
    caught_up = snapshots(Projector(ledger))
    assert {name: s[0] for name, s in caught_up.items()} == dict.fromkeys(names(), head)
    with opened(database_url) as fresh_ledger:
        fresh = Projector(fresh_ledger)
        fresh.rebuild()
        rebuilt = snapshots(fresh)
    assert differences(caught_up, rebuilt) == []
    assert caught_up == rebuilt

    # Step 7: nothing was counted twice: project_spend equals every budget line, and the
    # audit trail (where there is one) holds one row per event.
    _, spend = caught_up["project_spend"]
    rows = {(r["budget_year"], r["project"], r["channel"]): r for r in spend["project_spend"]}
    lines = ledger.get_budget_lines()
    assert lines, "the demo assigns budget lines"
    for budget_line in lines:
        key = (budget_line["budget_year"], budget_line["project"], budget_line["channel"])
        figures = (
            *("assigned", "carried_in", "committed", "disbursed", "recovered"),
            *("carried_out", "cancelled"),
        )
        assert {f: rows[key][f] for f in figures} == {f: budget_line[f] for f in figures}
    if "audit_trail" in BY_NAME:
        _, trail = caught_up["audit_trail"]
        assert [r["position"] for r in trail["audit_trail"]] == positions
