"""How the paths run a fold: the projector's catch-up and rebuild, the replays and the replay
snapshots (:mod:`projections.projector`, :mod:`projections.replay`,
:mod:`projections.snapshots`) fold batches of events the same way."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from sqlalchemy import Connection

from projections.base import Envelope, Projection


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a fold runs: decoding a batch makes many
    small objects and no cycles, and the collector's passes over them cost about as much as
    the decoding itself. Reference counting still frees everything as it goes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fold_into(
    projection: Projection, connection: Connection, batch: list[Envelope], keyed: bool = True
) -> None:
    """Fold ``batch`` into ``projection``, reading the rows it touches through ``connection``,
    and write them there (``keyed=False``: only the appended rows, see :meth:`Rows.flush`)."""
    projection.use(connection)
    projection.fold(batch)
    projection.flush(connection, keyed)
