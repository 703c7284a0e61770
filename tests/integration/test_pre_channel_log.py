"""A log written before the budget cycle (no channels, no rules, no year close) still reads,
replays and verifies unchanged, and the budget cycle goes on from it.

``tests/fixtures/pre_channels/`` holds such a log, exported by the ledger at commit 8df4bce
with a signed checkpoint (``make.py`` says how): its events are stored as they were written,
so their leaves and the Merkle root are the checkpoint's; the events whose classes changed
(``BudgetLine.Assigned``, ``SupportApplication.Approved`` and ``AcceptanceRecorded``,
``ProgramActivity.Approved``) are upcast when read (``class_version`` 2).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from ledger import checkpoint as cp
from ledger import commands as c
from ledger import event_log
from ledger.service import Ledger
from projections.projector import Projector
from projections.verify import verify
from tests.support.people import People, grant_people

FIXTURE = Path(__file__).parent.parent / "fixtures" / "pre_channels"
D = dt.date


@pytest.fixture
def old(ledger: Ledger) -> Iterator[tuple[Ledger, cp.Checkpoint, bytes]]:
    """The fixture's log imported, verified against its checkpoint, into this database."""
    held = cp.read_file(FIXTURE / "checkpoint.json")
    public = base64.b64decode(json.loads((FIXTURE / "public-key.json").read_text())["public_key"])
    event_log.import_file(ledger.engine, ledger.events_table, FIXTURE / "log.jsonl", held, public)
    yield ledger, held, public


def _application(ledger: Ledger, dossier_no: str) -> dict[str, object]:
    found = [a for a in _applications(ledger) if a["dossier_no"] == dossier_no]
    assert len(found) == 1
    return found[0]


def _applications(ledger: Ledger) -> list[dict[str, object]]:
    projector = Projector(ledger)
    projector.catch_up()
    with projector.reading("registers") as (connection, tables, _):
        rows = connection.execute(tables["register_applications"].select()).mappings().all()
    return [ledger.get_application(row["id"]) for row in rows]


def test_the_old_log_reads_with_the_default_channel_and_verifies_with_its_root(
    old: tuple[Ledger, cp.Checkpoint, bytes],
) -> None:
    ledger, held, public = old
    assert ledger.count_events() == held.tree_size == 36
    [line] = ledger.get_budget_lines()  # the old enterprise "line" is not a budget line
    assert (line["source"], line["channel"]) == ("city_budget", "science_recurrent")
    assert (line["assigned"], line["committed"], line["disbursed"]) == (
        900_000_000,
        60_000_000 + 80_000_000 + 50_000_000,
        60_000_000 + 40_000_000 + 20_000_000,
    )
    assert (line["carried_in"], line["carried_out"], line["cancelled"]) == (0, 0, 0)
    settled = _application(ledger, "HS-1")
    assert settled["channel"] == "science_recurrent" and settled["drawing_year"] == 2015
    assert settled["counterpart_spent"] is None  # not asked when it was accepted
    projector = Projector(ledger)
    projector.catch_up()
    result = verify(projector, [held], public)
    assert result.ok, result.problems
    assert result.root_hash == held.root_hash


def test_the_budget_cycle_goes_on_from_the_old_log(
    old: tuple[Ledger, cp.Checkpoint, bytes],
) -> None:
    ledger, held, public = old
    people: People = grant_people(ledger)
    closed = ledger.close_budget_year(
        c.CloseBudgetYear(budget_year=2015, closed_on=D(2016, 1, 15)), people.finance
    )
    # HS-2: 80M committed, 40M paid → 40M carried; the activity: 50M, 20M spent → 30M
    assert closed.extra == {"carried_out": 70_000_000, "cancelled": 710_000_000}
    open_one = _application(ledger, "HS-2")
    assert open_one["drawing_year"] == 2016
    ledger.record_disbursement(
        c.RecordDisbursement(
            application_id=UUID(str(open_one["id"])),
            paid_on=D(2016, 3, 1),
            amount=40_000_000,
            voucher_no="UNC-2016-1",
            kind="payment",
        ),
        people.officer,
    )
    lines = {line["budget_year"]: line for line in ledger.get_budget_lines()}
    assert (lines[2015]["carried_out"], lines[2015]["cancelled"], lines[2015]["available"]) == (
        70_000_000,
        710_000_000,
        0,
    )
    assert (lines[2016]["assigned"], lines[2016]["carried_in"], lines[2016]["committed"]) == (
        0,
        70_000_000,
        70_000_000,
    )
    assert lines[2016]["disbursed"] == 40_000_000
    projector = Projector(ledger)
    projector.catch_up()
    result = verify(projector, [held], public)  # the old checkpoint still holds: appended only
    assert result.ok, result.problems
