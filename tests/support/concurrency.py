"""Racing writers: threads released together by a barrier, each with its own ``Ledger`` or
all sharing one, and whether they really met at the store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

import pytest

from ledger.recorder import LedgerRecorder
from ledger.service import Ledger


class Ledgers:
    """The ledgers the racing threads use; disposed of after the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[Ledger] = []

    def new(self) -> Ledger:
        ledger = Ledger(self.url)
        self.made.append(ledger)
        return ledger

    def for_threads(self, count: int, sharing: str, shared: Ledger) -> list[Ledger]:
        if sharing == "one-shared-ledger":
            return [shared] * count
        return [self.new() for _ in range(count)]

    def dispose(self) -> None:
        for ledger in self.made:
            ledger.engine.dispose()


def writers_do_not_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers that do not queue for a budget line before reading it (as a server of before
    the queue would, in a rolling upgrade): they meet at the insert, where the store's unique
    (id, version) index alone decides, and the losers run again."""

    def no_queue(self: LedgerRecorder, aggregate_id: UUID) -> None:
        pass

    monkeypatch.setattr(LedgerRecorder, "queue_for", no_queue)


def raced(ledgers: Ledgers) -> bool:
    """True if some writer lost a race at the store and was rerun (its ``retries`` counted):
    proof that the racers really met there, not one after the other."""
    return sum(ledger.retries for ledger in ledgers.made) > 0


def race(calls: list[Callable[[], object]]) -> list[object]:
    """Run every call in its own thread, all released at once; return what each returned or
    raised, in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = calls[index]()
        except BaseException as error:  # noqa: BLE001 - reported to the test as a result
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return results
