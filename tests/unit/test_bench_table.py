"""``make bench``'s table: ratios read "how fast beside the baseline", one row per figure,
a failed benchmark is a row that says so, and an unknown benchmark's name is refused."""

from __future__ import annotations

import math
import subprocess
import sys

from bench.__main__ import MODULES
from bench.common import ROOT
from bench.table import Figure, at_full_size, failed, markdown, plain


def test_a_rate_is_faster_when_higher_and_a_time_when_lower() -> None:
    rate = Figure("rebuild", 50_000, "events/s", 100_000, "raw scan", "≥ 0.5×", True)
    time = Figure("draft", 0.2, "s", 0.1, "raw read", "≤ 1 s", True)
    assert rate.ratio == 0.5
    assert time.ratio == 0.5
    assert Figure("p99", 80.0, "ms", goal="≤ 100 ms", met=True).ratio is None


def test_the_table_has_one_row_per_figure_with_its_goal_and_verdict() -> None:
    figures = [
        Figure("rebuild, PostgreSQL", 50_000, "events/s", 100_000, "raw scan", "≥ 0.5×", True),
        Figure("draft, SQLite", 0.25, "s", 0.05, "raw read", "≤ 1 s at 1M", None),
        failed("import_log", "RuntimeError: no database"),
    ]
    lines = markdown(figures)
    assert len(lines) == 2 + len(figures)
    assert lines[2] == (
        "| rebuild, PostgreSQL | 50,000 events/s | 100,000 events/s (raw scan) | 0.50× "
        "| ≥ 0.5× | yes |"
    )
    assert lines[3] == "| draft, SQLite | 250 ms | 50 ms (raw read) | 0.20× | ≤ 1 s at 1M | — |"
    assert lines[4] == "| import_log | failed | failed: RuntimeError: no database |  |  | **no** |"
    assert plain(figures)[0].split() == [
        "figure",
        "ours",
        "baseline",
        "(same",
        "run)",
        "ratio",
        "goal",
        "met?",
    ]
    assert math.isnan(figures[2].ours)


def test_a_goal_set_at_1m_events_is_judged_at_that_size_only() -> None:
    assert at_full_size("1m", False) is False
    assert at_full_size("quick", False) is None


def test_an_unknown_benchmark_is_refused_with_the_names_of_those_there_are() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "verify,nosuch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no benchmark named nosuch" in done.stderr
    assert ", ".join(MODULES) in done.stderr
