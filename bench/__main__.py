"""``python -m bench`` (``make bench``): every benchmark at one size, one table.

Runs each benchmark module's ``summary(size)`` in turn on both databases and prints one
table (:mod:`bench.table`): figure, ours, the baseline of the same run, the ratio, the goal,
met? ``--size quick`` (the default; a few minutes) reads a demo log of ~30,000 events and
runs short loads; ``--size 1m`` the full sizes (~1M events; the first run generates the
1M-event log, which takes about a quarter of an hour). ``--markdown FILE`` also writes the
table as Markdown (what README shows). Each module's own ``python -m bench.<name>`` gives
its full figures.

A benchmark that fails is a row that says so; the others still run, and the exit status
is 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

from bench.table import SIZES, Figure, Size, failed, markdown, plain

#: the benchmark modules, in the order of the table
MODULES = (
    "commands",
    "http_commands",
    "faults",
    "import_log",
    "rebuild",
    "verify",
    "replay",
    "http",
    "reports",
    "estimate",
    "exports",
)


def run(names: list[str], size: Size) -> tuple[list[Figure], bool]:
    figures: list[Figure] = []
    ok = True
    for name in names:
        started = time.perf_counter()
        print(f"· {name} …", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            found: list[Figure] = module.summary(size)
            if not all(isinstance(f, Figure) for f in found):
                raise TypeError(f"bench.{name}.summary gave something other than Figures")
        except Exception as error:  # noqa: BLE001 — one failed benchmark is one row
            traceback.print_exc()
            found = [failed(name, f"{type(error).__name__}: {error}")]
            ok = False
        figures.extend(found)
        print(f"· {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        for line in plain(found)[1:]:
            print(f"    {line}", file=sys.stderr, flush=True)
    return figures, ok


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--size", choices=SIZES, default="quick")
    parser.add_argument("--only", help="comma-separated modules, of " + ",".join(MODULES))
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    args = parser.parse_args()
    names = list(MODULES)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(names) - set(MODULES))
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)} (of {', '.join(MODULES)})")
    load = os.getloadavg()
    started = time.perf_counter()
    figures, ok = run(names, args.size)
    seconds = time.perf_counter() - started
    heading = (
        f"make bench, size {args.size}: {seconds / 60:.1f} minutes; "
        f"{os.cpu_count()} processors, load average at the start {load[0]:.2f}"
    )
    print(f"\n{heading}\n")
    print("\n".join(plain(figures)))
    if args.markdown:
        Path(args.markdown).write_text(f"{heading}\n\n" + "\n".join(markdown(figures)) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
