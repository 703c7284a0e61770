"""``ledger import`` at scale (issue 16): a demo log of 100,000 events exported, then imported
into an empty database (COPY on PostgreSQL, ``executemany`` on SQLite, one transaction) and
its read models built by a rebuild, gives the source's Merkle root and read models; a file
that changes after it was verified, or whose positions skip, writes nothing.

The source is the benchmarks' cached demo log (``var/bench``, generated on first use: about a
minute), copied with its positions into a fresh database of the backend under test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.logs import import_postgresql, import_sqlite, source_log
from ledger import checkpoint as cp
from ledger import event_log
from ledger.service import Ledger
from projections import checkpoints
from projections.merkle import root as tree_root
from projections.projector import Projector
from projections.verify import verify
from tests.support.cli import run
from tests.support.event_logs import synthetic_log

EVENTS = 100_000


def positions_trigger_enabled(ledger: Ledger) -> bool:
    """Whether migration 0005's position trigger is on (PostgreSQL; SQLite has none)."""
    if ledger.engine.dialect.name != "postgresql":
        return True
    with ledger.engine.connect() as connection:
        state = connection.execute(
            sa.text(
                "SELECT tgenabled FROM pg_trigger WHERE tgname = 'ledger_events_position' "
                "AND tgrelid = 'ledger_events'::regclass"
            )
        ).scalar_one()
    return bool(state == "O")


def stored(ledger: Ledger) -> tuple[int, int]:
    """(events, recorded holes) in the database."""
    with ledger.engine.connect() as connection:
        events = connection.execute(
            sa.select(sa.func.count()).select_from(ledger.events_table)
        ).scalar_one()
        holes = connection.execute(sa.text("SELECT count(*) FROM log_gaps")).scalar_one()
    return int(events), int(holes)


def test_a_100k_event_log_imports_with_the_same_root_and_read_models(
    backend: str, another_database: Callable[[], str], tmp_path: Path
) -> None:
    source_url = another_database()
    log = source_log(EVENTS)
    if backend == "postgresql":
        import_postgresql(log.path, source_url, upto=EVENTS)
    else:
        import_sqlite(log.path, source_url, upto=EVENTS)
    source = Ledger(source_url)
    copy = Ledger(another_database())
    try:
        projector = Projector(source)
        projector.rebuild()
        key = Ed25519PrivateKey.generate()
        held = checkpoints.make(projector, key)
        assert held.tree_size == EVENTS
        path, held_path, key_path = (
            tmp_path / "log.jsonl",
            tmp_path / "cp.json",
            tmp_path / "key.json",
        )
        with path.open("wb") as out:
            event_log.export(source.engine, source.events_table, out, EVENTS, held)
        held_path.write_text(json.dumps(held.to_json()))
        key_path.write_text(base64.b64encode(cp.raw_public(key)).decode())

        imported = run(
            copy.url,
            "import",
            str(path),
            "--checkpoint",
            str(held_path),
            "--public-key",
            str(key_path),
        )
        assert imported.exit_code == 0, imported.output
        assert held.root_hash in imported.stdout and "read models are built" in imported.stdout

        assert stored(copy) == (EVENTS, 0)
        assert positions_trigger_enabled(copy)
        copied = Projector(copy)
        with copied.reading("merkle") as (connection, tables, size):
            assert (size, tree_root(connection, tables, size)) == (EVENTS, held.root)
        for name in projector.classes:
            assert copied.snapshot(name) == projector.snapshot(name), name
        assert verify(copied, [held], cp.raw_public(key)).ok
    finally:
        source.engine.dispose()
        copy.engine.dispose()


# -- refusals: nothing written ---------------------------------------------------------------


def test_a_file_whose_positions_skip_is_refused_whole(ledger: Ledger, tmp_path: Path) -> None:
    """Every leaf matches its line and the checkpoint is signed over them: the skip alone
    refuses it."""
    path = tmp_path / "skips.jsonl"
    held, public = synthetic_log(path, 500, skip_at=250)
    with pytest.raises(event_log.ImportRefused, match="nothing was imported.*position 250"):
        event_log.import_file(ledger.engine, ledger.events_table, path, held, public)
    assert stored(ledger) == (0, 0)


@pytest.mark.parametrize("where", ["first", "last", "twice"])
def test_a_file_changed_after_it_was_verified_writes_nothing(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The file is changed between the verification and the load (one event's state, near
    the start or at the very end, after most rows went to the database; or the last event
    made a second copy of the one before, which the database's unique key refuses in the
    middle of the COPY): the file read again in the transaction no longer gives the
    checkpoint's root, and nothing is written."""
    path = tmp_path / "log.jsonl"
    events = 3_000
    held, public = synthetic_log(path, events)
    checked = event_log.check_file

    def check_then_change(*args: Any) -> Any:
        result = checked(*args)
        lines = path.read_bytes().splitlines(keepends=True)
        at = 2 if where == "first" else len(lines) - 1
        line = json.loads(lines[at])
        line["state"] = base64.b64encode(b"changed").decode()
        if where == "twice":  # the event before's version of the same record: a key broken
            before = json.loads(lines[at - 1])
            line["originator_id"] = before["originator_id"]
        lines[at] = json.dumps(line).encode() + b"\n"
        path.write_bytes(b"".join(lines))
        return result

    monkeypatch.setattr(event_log, "check_file", check_then_change)
    with pytest.raises(event_log.ImportRefused, match="changed while it was imported"):
        event_log.import_file(ledger.engine, ledger.events_table, path, held, public)
    assert stored(ledger) == (0, 0)
    assert positions_trigger_enabled(ledger)
    # and the same database then takes the file as it was verified
    held, public = synthetic_log(path, events)
    monkeypatch.undo()
    event_log.import_file(ledger.engine, ledger.events_table, path, held, public)
    assert stored(ledger) == (events, 0)
    assert positions_trigger_enabled(ledger)


def test_the_positions_are_proved_before_the_import_commits(ledger: Ledger, tmp_path: Path) -> None:
    """The check the load ends with: the stored positions must be 1..N exactly."""
    path = tmp_path / "log.jsonl"
    held, public = synthetic_log(path, 50)
    event_log.import_file(ledger.engine, ledger.events_table, path, held, public)
    with ledger.engine.begin() as connection:
        event_log._prove_positions(connection, ledger.events_table, 50)
        for wrong in (49, 51):
            with pytest.raises(event_log.ImportRefused, match="not exactly 1 to"):
                event_log._prove_positions(connection, ledger.events_table, wrong)


def test_an_import_into_a_database_with_events_is_refused_before_reading_the_file(
    ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "log.jsonl"
    held, public = synthetic_log(path, 20)
    event_log.import_file(ledger.engine, ledger.events_table, path, held, public)
    with pytest.raises(event_log.ImportRefused, match="already holds events"):
        event_log.import_file(ledger.engine, ledger.events_table, path, held, public)
    with pytest.raises(event_log.ImportRefused, match="already holds events"):
        event_log.load(ledger.engine, ledger.events_table, path, held)
    assert stored(ledger) == (20, 0)
