"""The inspector's commands, end to end on both databases: keys, checkpoint, verify (against
the database and offline), export of the event log and import into an empty database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.service import Ledger
from tests.support.cli import one_line_error, run
from tests.support.people import grant_people
from tests.support.story import Story

AUDIT_COMMANDS = (
    ["keys"],
    ["keys", "init"],
    ["keys", "public"],
    ["checkpoint"],
    ["verify"],
    ["export"],
    ["export", "events"],
    ["import"],
)


@pytest.mark.parametrize("command", AUDIT_COMMANDS, ids=" ".join)
def test_every_audit_command_explains_itself_with_help(command: list[str]) -> None:
    result = run(None, *command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: ledger" in result.output


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"LEDGER_SIGNING_KEY": str(tmp_path / "signing.pem"), "LEDGER_ORIGIN": "cli.test"}


@pytest.fixture
def story(database_url: str) -> Story:
    ledger = Ledger(database_url)
    story = Story(ledger, grant_people(ledger))
    story.budget(100_000_000)
    story.settled(city=60_000_000, paid=60_000_000)
    return story


def test_an_inspector_checkpoints_exports_verifies_offline_and_imports_the_log(
    database_url: str,
    story: Story,
    env: dict[str, str],
    tmp_path: Path,
    another_database: Callable[[], str],
) -> None:
    # Step 1: the key is made once, readable by its owner only; a second init is refused.
    made = run(None, "keys", "init", env=env)
    assert made.exit_code == 0, made.output
    assert Path(env["LEDGER_SIGNING_KEY"]).stat().st_mode & 0o777 == 0o600
    assert "never overwritten" in one_line_error(run(None, "keys", "init", env=env))
    key = tmp_path / "key.json"
    assert run(None, "keys", "public", "--out", str(key), env=env).exit_code == 0

    # Step 2: a checkpoint of the whole log, written to a file the inspector takes away.
    held = tmp_path / "cp.json"
    result = run(database_url, "checkpoint", "--out", str(held), env=env)
    assert result.exit_code == 0, result.output
    checkpoint = json.loads(held.read_text())
    assert checkpoint["tree_size"] == story.ledger.count_events()
    assert json.loads(result.stdout) == checkpoint

    # Step 3: the log verifies against the tree and the checkpoint.
    verified = run(database_url, "verify", "--checkpoint", str(held), env=env)
    assert verified.exit_code == 0, verified.output
    assert f"{checkpoint['tree_size']:,} events verified" in verified.stdout

    # Step 4: the log exported; verified offline with no database at all.
    log = tmp_path / "log.jsonl"
    exported = run(database_url, "export", "events", "--out", str(log), env=env)
    assert exported.exit_code == 0, exported.output
    assert "consistent with the checkpoint" in exported.stdout
    offline = run(
        "postgresql+psycopg2://nobody@127.0.0.1:1/none",
        "verify",
        "--offline",
        str(log),
        "--checkpoint",
        str(held),
        "--public-key",
        str(key),
    )
    assert offline.exit_code == 0, offline.output
    assert checkpoint["root_hash"] in offline.stdout

    # Step 5: imported into an empty database: the same root; it verifies there too.
    other = another_database()
    imported = run(
        other, "import", str(log), "--checkpoint", str(held), "--public-key", str(key), env=env
    )
    assert imported.exit_code == 0, imported.output
    assert checkpoint["root_hash"] in imported.stdout
    again = run(other, "verify", "--checkpoint", str(held), "--public-key", str(key))
    assert again.exit_code == 0, again.output

    # Step 6: someone flips a byte of one stored event: verify names it and fails.
    position = checkpoint["tree_size"] // 2
    _flip_a_byte(database_url, position)
    caught = run(database_url, "verify", "--checkpoint", str(held), env=env)
    assert caught.exit_code == 1
    assert caught.stdout.splitlines()[0].startswith(f"altered: position {position} ")
    assert f"the first bad position is {position:,}" in one_line_error(caught)


def test_audit_mistakes_are_one_line_and_write_nothing(
    database_url: str, story: Story, env: dict[str, str], tmp_path: Path
) -> None:
    assert "ledger keys init" in one_line_error(run(database_url, "checkpoint", env=env))
    not_json = tmp_path / "cp.json"
    not_json.write_text("not json")
    assert "is not JSON" in one_line_error(
        run(database_url, "verify", "--checkpoint", str(not_json), env=env)
    )
    assert "needs at least one --checkpoint" in one_line_error(
        run(None, "verify", "--offline", str(not_json), "--public-key", "AAAA")
    )
    assert run(None, "keys", "init", env=env).exit_code == 0
    held = tmp_path / "held.json"
    assert run(database_url, "checkpoint", "--out", str(held), env=env).exit_code == 0
    assert "exists" in one_line_error(run(database_url, "checkpoint", "--out", str(held), env=env))
    log = tmp_path / "log.jsonl"
    assert run(database_url, "export", "events", "--out", str(log), env=env).exit_code == 0
    before = story.ledger.count_events()
    refused = run(database_url, "import", str(log), "--checkpoint", str(held), env=env)
    assert "already holds events" in one_line_error(refused)
    assert story.ledger.count_events() == before
    assert "32 bytes" in one_line_error(
        run(
            None, "verify", "--offline", str(log), "--checkpoint", str(held), "--public-key", "AAAA"
        )
    )


def _flip_a_byte(url: str, position: int) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            else:
                connection.execute(sa.text("DROP TRIGGER ledger_events_no_update"))
            connection.execute(
                sa.text(
                    "UPDATE ledger_events SET state = CAST(REPLACE(CAST(state AS TEXT), '2', '3') "
                    "AS BLOB) WHERE id = :p"
                    if engine.dialect.name == "sqlite"
                    else "UPDATE ledger_events SET state = state || '\\x20'::bytea WHERE id = :p"
                ),
                {"p": position},
            )
    finally:
        engine.dispose()
