"""The demo's random draws, each from the one ``random.Random`` of a load, and its rounding
of amounts: money in whole steps, never less than one step."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping


def round_down(amount: float, step: int = 100_000) -> int:
    """``amount`` rounded down to a whole ``step``, and at least one ``step``."""
    return max(step, int(amount) // step * step)


def money(rng: random.Random, low: int, high: int, step: int = 100_000) -> int:
    """An amount from ``low`` to ``high``, in whole ``step``."""
    return rng.randrange(low // step, high // step + 1) * step


def day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    """A day from ``start`` to ``end``, both included."""
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    """One key of ``weights``, each as likely as its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]
