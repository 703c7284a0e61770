"""One table of every benchmark: the figure, ours, the baseline of the same run, the ratio,
the goal and whether it is met.

Each benchmark module has ``summary(size) -> list[Figure]``: it runs its measurements at
that size (``quick``: a log of ~30,000 events and short loads, so the whole table takes a
few minutes; ``1m``: the full sizes of the issues' goals, ~1M events) on each backend, and
says what it measured. ``python -m bench`` (``make bench``) runs them in turn and prints the
table; see :mod:`bench.__main__`.

A ratio compares ours with a baseline measured in the same run on the same database (the
machine is shared, so only a ratio means anything from one run to the next). It reads as
"how fast ours is beside the baseline": for rates, ours ÷ baseline; for times, baseline ÷
ours. Either way above 1 is faster than the baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Size = Literal["quick", "1m"]
SIZES: tuple[Size, ...] = ("quick", "1m")
#: the events of the demo log each size reads
EVENTS: dict[Size, int] = {"quick": 30_000, "1m": 1_000_000}
#: the backends every summary measures, PostgreSQL first
BACKENDS = ("postgresql", "sqlite")
BACKEND_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its baseline."""

    #: what was measured, with its backend and size ("rebuild, PostgreSQL, 1,021,240 events")
    figure: str
    ours: float
    #: the unit of ``ours`` and ``baseline``: "events/s", "rows/s", "req/s", "s", "ms", …
    unit: str
    #: the baseline's figure, measured in the same run (None: the figure has none)
    baseline: float | None = None
    #: what the baseline is ("raw scan + decode")
    baseline_is: str = ""
    #: the goal, in words ("≥ 0.5× the raw scan")
    goal: str = ""
    #: whether the goal is met (None: no goal at this size)
    met: bool | None = None

    @property
    def lower_is_better(self) -> bool:
        return self.unit in ("s", "ms")

    @property
    def ratio(self) -> float | None:
        """How fast ours is beside the baseline (above 1: faster)."""
        if self.baseline is None or not self.ours or not self.baseline:
            return None
        return self.baseline / self.ours if self.lower_is_better else self.ours / self.baseline


def failed(figure: str, error: str) -> Figure:
    """A row for a benchmark that could not run (the table goes on without it)."""
    return Figure(figure, math.nan, "", baseline_is=f"failed: {error}", met=False)


def amount(value: float | None, unit: str) -> str:
    """A figure with its unit, rounded as a reader wants it."""
    if value is None:
        return "—"
    if math.isnan(value):
        return "failed"
    if unit == "s" and value < 1:
        return f"{value * 1000:,.0f} ms" if value >= 0.01 else f"{value * 1000:,.1f} ms"
    if unit == "s":
        return f"{value:,.2f} s" if value < 10 else f"{value:,.1f} s"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.0f} {unit}"


def _met(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "**no**")


def markdown(figures: list[Figure]) -> list[str]:
    """The table as Markdown lines (README shows it)."""
    lines = [
        "| figure | ours | baseline (same run) | ratio | goal | met? |",
        "|---|---:|---|---:|---|---|",
    ]
    for f in figures:
        base = amount(f.baseline, f.unit) if f.baseline is not None else ""
        if f.baseline_is:
            base = f"{base} ({f.baseline_is})" if base else f.baseline_is
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}×"
        lines.append(
            f"| {f.figure} | {amount(f.ours, f.unit)} | {base} | {ratio} | {f.goal} "
            f"| {_met(f.met)} |"
        )
    return lines


def plain(figures: list[Figure]) -> list[str]:
    """The table in columns for a terminal."""
    rows = [("figure", "ours", "baseline (same run)", "ratio", "goal", "met?")]
    for f in figures:
        base = amount(f.baseline, f.unit) if f.baseline is not None else ""
        if f.baseline_is:
            base = f"{base} ({f.baseline_is})" if base else f.baseline_is
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}×"
        met = "—" if f.met is None else ("yes" if f.met else "NO")
        rows.append((f.figure, amount(f.ours, f.unit), base, ratio, f.goal, met))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    right = {1, 3}
    return [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def label(what: str, backend: str, events: int | None = None) -> str:
    """``what, PostgreSQL, 30,012 events``."""
    name = BACKEND_NAMES.get(backend, backend)
    return f"{what}, {name}" + (f", {events:,} events" if events is not None else "")


def at_full_size(size: Size, met: bool) -> bool | None:
    """Whether a goal set at 1M events is met: judged at the full size only (at the quick
    size fixed costs weigh more, and a time limit is easier)."""
    return met if size == "1m" else None
