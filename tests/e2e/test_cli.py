"""The ``ledger`` command line, end to end, against the test databases (SQLite and PostgreSQL).

Most tests drive the real click command in-process (``CliRunner``); the walk-through runs the
installed ``ledger`` script in subprocesses and talks to ``ledger serve`` over real HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import Result

import migrations
from api.cli import head_revision
from ledger import catalogue
from ledger.errors import Unauthorized
from ledger.service import Ledger
from tests.support.cli import one_line_error, run

LEDGER_SCRIPT = Path(sys.executable).with_name("ledger")

COMMANDS: tuple[list[str], ...] = (
    [],
    ["db"],
    ["db", "upgrade"],
    ["users"],
    ["users", "add"],
    ["users", "revoke"],
    ["users", "change"],
    ["users", "list"],
    ["serve"],
    ["demo"],
    ["docs"],
    ["docs", "api"],
)


def add_user(url: str, name: str = "Nguyễn Văn An", role: str = "officer") -> Result:
    return run(url, "users", "add", "--name", name, "--role", role, "--department", "SKHCN")


@pytest.fixture
def read_ledger(database_url: str) -> Iterator[Ledger]:
    ledger = Ledger(database_url)
    yield ledger
    ledger.engine.dispose()


# -- help and set-up ------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "ledger")
def test_every_command_explains_itself_with_help(command: list[str]) -> None:
    result = run(None, *command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: ledger" in result.stdout


def test_db_upgrade_migrates_a_brand_new_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'ledger.db'}"
    result = run(url, "db", "upgrade", "--create")  # (the folder too: test_cli_first_run.py)
    assert result.exit_code == 0, result.output
    head = head_revision(url)
    assert head is not None and head in result.stdout
    assert migrations.current(url) == head
    again = run(url, "db", "upgrade")
    assert again.exit_code == 0 and "already at revision" in again.stdout


def test_db_upgrade_leaves_a_migrated_database_as_it_is(database_url: str) -> None:
    result = run(database_url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "already at revision" in result.stdout


def test_a_database_that_was_never_migrated_says_to_run_db_upgrade(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'nothing-here.db'}"
    for command in (["users", "list"], ["demo", "--scale", "0.02"], ["serve"]):
        assert "run `ledger db upgrade` first" in one_line_error(run(missing, *command))
    assert not (tmp_path / "nothing-here.db").exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    message = one_line_error(add_user(f"sqlite:///{empty}"))
    assert "run `ledger db upgrade` first" in message


def test_serve_refuses_fewer_than_one_worker_before_it_touches_the_database(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'nothing-here.db'}"
    for given in ("0", "-2", "many"):
        message = one_line_error(run(missing, "serve", "--workers", given))
        assert "'--workers'" in message and given in message, message
    assert not (tmp_path / "nothing-here.db").exists()


def test_the_database_url_defaults_to_the_environment(database_url: str) -> None:
    result = run(None, "users", "list", env={"LEDGER_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "No users yet" in result.stdout


def test_an_unreachable_database_is_one_line() -> None:
    message = one_line_error(run("postgresql://nobody@127.0.0.1:1/none", "users", "list"))
    assert "cannot use the database" in message


# -- users ---------------------------------------------------------------------------------


def test_users_add_prints_the_token_alone_on_the_last_line_and_it_authenticates(
    database_url: str, read_ledger: Ledger
) -> None:
    result = add_user(database_url, "Trần Thị Bình", "finance")
    assert result.exit_code == 0, result.output
    *before, token = result.stdout.rstrip("\n").split("\n")
    assert token == token.strip() and " " not in token and len(token) >= 32
    assert any("Trần Thị Bình" in line for line in before)
    actor = read_ledger.authenticate(token)
    assert (actor.name, actor.role, actor.department) == ("Trần Thị Bình", "finance", "SKHCN")
    assert token not in result.stderr


def test_users_list_shows_the_user(database_url: str) -> None:
    add_user(database_url, "Lê Văn Cường")
    result = run(database_url, "users", "list")
    assert result.exit_code == 0, result.output
    assert "Lê Văn Cường" in result.stdout
    assert "officer" in result.stdout and "SKHCN" in result.stdout and "yes" in result.stdout


def test_users_revoke_makes_the_token_fail(database_url: str, read_ledger: Ledger) -> None:
    token = add_user(database_url).stdout.strip().splitlines()[-1]
    user_id = read_ledger.authenticate(token).user_id
    result = run(database_url, "users", "revoke", user_id, "--reason", "Chuyển công tác")
    assert result.exit_code == 0, result.output
    with pytest.raises(Unauthorized):
        read_ledger.authenticate(token)
    listed = run(database_url, "users", "list").stdout
    assert user_id in listed and "no" in listed
    assert "already revoked" in one_line_error(
        run(database_url, "users", "revoke", user_id, "--reason", "lần nữa")
    )


def test_users_change_renames_and_moves_a_user_whose_token_keeps_working(
    database_url: str, read_ledger: Ledger
) -> None:
    token = add_user(database_url).stdout.strip().splitlines()[-1]
    user_id = read_ledger.authenticate(token).user_id
    result = run(
        database_url,
        "users",
        "change",
        user_id,
        "--name",
        "Nguyễn Văn An Khang",
        "--department",
        "STC",
        "--reason",
        "Điều chuyển công tác",
    )
    assert result.exit_code == 0, result.output
    assert "Nguyễn Văn An Khang, STC – Sở Tài chính" in result.stdout
    actor = read_ledger.authenticate(token)
    assert (actor.name, actor.department) == ("Nguyễn Văn An Khang", "STC")
    head = read_ledger.count_events()
    for args, named in (
        (["--name", "Nguyễn Văn An Khang"], "already has that name"),
        (["--department", "NOWHERE"], "--department"),
        ([], "changes nothing"),
    ):
        message = one_line_error(
            run(database_url, "users", "change", user_id, *args, "--reason", "x")
        )
        assert named in message, message
    assert "--reason" in one_line_error(run(database_url, "users", "change", user_id))
    assert read_ledger.count_events() == head, "a refused change writes nothing"


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--role", "boss", "--role"),
        ("--department", "SKHCNN", "--department"),
        ("--department", "QH-NOWHERE", "--department"),
        ("--name", "   ", "--name"),
    ],
)
def test_a_bad_role_or_department_is_one_line_and_writes_nothing(
    database_url: str, read_ledger: Ledger, option: str, value: str, named: str
) -> None:
    given = {"--name": "Phạm Thị Dung", "--role": "officer", "--department": "SKHCN"}
    given[option] = value
    args = [part for pair in given.items() for part in pair]
    message = one_line_error(run(database_url, "users", "add", *args))
    assert named in message
    assert read_ledger.count_events() == 0


def test_a_mistyped_command_line_is_one_line(database_url: str) -> None:
    assert "--department" in one_line_error(
        run(database_url, "users", "add", "--name", "X", "--role", "officer")
    )
    assert "not a valid UUID" in one_line_error(
        run(database_url, "users", "revoke", "not-an-id", "--reason", "x")
    )
    assert "No user" in one_line_error(
        run(
            database_url, "users", "revoke", "6f1c0c7e-4d1b-5b7a-9a53-6374201012a7", "--reason", "x"
        )
    )
    assert "--scale" in one_line_error(run(database_url, "demo", "--scale", "0"))


# -- demo ----------------------------------------------------------------------------------


def test_demo_loads_and_a_second_run_is_refused(database_url: str, read_ledger: Ledger) -> None:
    result = run(database_url, "demo", "--scale", "0.02")
    assert result.exit_code == 0, result.output
    events = read_ledger.count_events()
    assert events > 500
    assert f"{events:,}" in result.stdout
    for what in ("enterprises", "applications", "settled", "budget lines"):
        assert what in result.stdout
    message = one_line_error(run(database_url, "demo", "--scale", "0.02"))
    assert "already holds a program" in message
    assert read_ledger.count_events() == events
    # `make demo` run twice: with --if-empty the second load is skipped, not an error.
    again = run(database_url, "demo", "--scale", "0.02", "--if-empty")
    assert again.exit_code == 0, again.output
    assert "already loaded" in again.stdout and "users add" in again.stdout
    assert read_ledger.count_events() == events


# -- the walk-through, over real processes and HTTP -----------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ledger_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LEDGER_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_walk_through_upgrade_add_a_user_load_the_demo_and_serve_it(
    database_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "LEDGER_DATABASE_URL": database_url}
    # 1. Migrate (already migrated by the fixture: nothing to do, still fine).
    upgraded = ledger_command("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    # 2. Add a viewer and keep the token from the last line.
    added = ledger_command(
        "users",
        "add",
        "--name",
        "Bùi Văn Khánh",
        "--role",
        "viewer",
        "--department",
        "SCT",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    # 3. Load a small demo program.
    loaded = ledger_command("demo", "--scale", "0.02", env=env)
    assert loaded.returncode == 0, loaded.stderr
    # 4. Serve it on a free port.
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(LEDGER_SCRIPT), "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            health = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                assert server.poll() is None, log.read_text()
                try:
                    health = httpx.get(f"{base}/api/health", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            # 5. Health answers with the position of the last event.
            assert health is not None and health.status_code == 200, log.read_text()
            assert health.json()["status"] == "ok"
            assert health.json()["position"] > 0
            # 6. The budget lines, with the token, over real HTTP.
            lines = httpx.get(
                f"{base}/api/budget-lines", headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            assert lines.status_code == 200, lines.text
            # every year 2011–2020 has a city-budget line of every project (the estimate's
            # approval assigns them), some on other channels than the default
            assert {(x["budget_year"], x["project"]) for x in lines.json()} == {
                (year, project) for year in range(2011, 2021) for project in catalogue.PROJECTS
            }
            assert {x["source"] for x in lines.json()} == {"city_budget"}
            assert httpx.get(f"{base}/api/budget-lines", timeout=10).status_code == 401
        finally:
            # 7. Stop the server.
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
