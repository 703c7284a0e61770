"""README's walk-through, command by command, as a newcomer runs it: read from README.md,
run by bash with ``ledger`` on the PATH, against ``ledger serve`` on a fresh demo (a real
process on 127.0.0.1), on both databases. If README's commands stop working, this fails."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from ledger.service import Ledger
from projections.projector import Projector
from tests.faults.harness import LEDGER_SCRIPT, ROOT, LedgerServer, Processes, ledger_env
from tests.support.demo import load_demo

HEADING = "### Walk-through: one application from submission to settlement"
README_API = "http://127.0.0.1:8000"


def walkthrough() -> str:
    """The first ``sh`` block under the walk-through's heading in README.md."""
    text = (ROOT / "README.md").read_text()
    assert HEADING in text, f"README.md has no heading {HEADING!r}"
    found = re.search(r"```sh\n(.*?)\n```", text[text.index(HEADING) :], re.S)
    assert found is not None, "the walk-through has no ```sh block"
    script = found.group(1)
    assert README_API in script, f"the walk-through no longer talks to {README_API}"
    return script


def test_the_walkthrough_runs_on_a_fresh_demo(database_url: str, tmp_path: Path) -> None:
    ledger = Ledger(database_url)
    try:
        load_demo(ledger, scale=0.03)
        Projector(ledger).catch_up()
    finally:
        ledger.engine.dispose()
    env = ledger_env(tmp_path)
    # `ledger serve` as README runs it: one HTTP worker per core (the walk-through reads its
    # writes with min_position from whichever answers)
    server = LedgerServer(Processes(tmp_path, env), database_url, workers=None)
    server.start()
    try:
        script = walkthrough().replace(README_API, server.base_url)
        env.update(
            LEDGER_DATABASE_URL=database_url,
            PATH=f"{LEDGER_SCRIPT.parent}{os.pathsep}{env['PATH']}",
        )
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.processes.close()
    said = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, said
    out = done.stdout
    assert '"settled"' in out, said
    assert re.search(r"^8$", out, re.M), said  # the history's events
    line = '"assigned": 2000000000,\n  "committed": 35000000,\n  "disbursed": 35000000,\n'
    assert line in out and '"available": 1965000000' in out, said
    now = '{\n  "committed": 35000000,\n  "disbursed": 35000000\n}'
    before = '{\n  "committed": 0,\n  "disbursed": 0\n}'
    assert now in out and before in out, said  # the past view by position shows the past
    assert out.index(now) < out.index(before), said
    replayed = out[out.index("View: as known at position") :]
    assert "│        2024 │ DA2     │ city_budget │" in replayed, said
    assert '{"appraised":1}' in replayed, said  # approved after that position
