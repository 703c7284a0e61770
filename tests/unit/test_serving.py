"""``ledger serve --workers N`` leaves no board folder behind: one whose server was killed
with SIGKILL (it could not remove its own) is removed by the next server that starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from api.serving import BOARD_PREFIX, remove_stale_boards


def test_the_board_folders_of_servers_that_no_longer_run_are_removed(tmp_path: Path) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = tmp_path / f"{BOARD_PREFIX}{ended.stdout.strip()}-abc123"
    alive = tmp_path / f"{BOARD_PREFIX}{os.getpid()}-def456"
    other = tmp_path / f"{BOARD_PREFIX}notapid"
    for folder in (dead, alive, other):
        folder.mkdir()
        (folder / "background.json").write_text("{}")
    assert remove_stale_boards(tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and other.exists()
