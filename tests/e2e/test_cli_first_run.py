"""What a new user of ``make demo`` and the ``ledger`` command meets, over real processes.

- ``make demo`` loads the demo program and one admin once: run again on a loaded database it
  adds nothing and says, in one line, how to make an admin token;
- a port that is taken is one line, said before anything is written;
- the default files (the signing key…) are found from whatever folder a command runs in;
- a database URL that is not SQLite or PostgreSQL, or a SQLite file whose folder does not
  exist, is one line, exit status 2, and nothing is created (``db upgrade --create`` makes
  the folder).

Every process is bounded in time; no server is left running.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.service import Ledger

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LEDGER_SCRIPT = BIN / "ledger"
TIMEOUT = 240
ADMIN = "Quản trị demo"
#: the Makefile's mark of an installed checkout, taken as made (make installs nothing here)
STAMP = ".venv/.installed-stamp"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a child: no ledger setting but ``extra``, no outer make's flags."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LEDGER_") and key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    env.update(LEDGER_REPLAY_SNAPSHOT_EVERY="0", PYTHONUNBUFFERED="1", **extra)
    return env


def ledger(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LEDGER_SCRIPT), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``make`` of the checkout, with this test run's ``ledger`` and without installing."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "-o", STAMP, f"BIN={BIN}", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def one_error_line(result: subprocess.CompletedProcess[str], *, exit_code: int | None) -> str:
    """The one line a refusal prints on stderr (make's own ``make: ***`` trailer aside)."""
    if exit_code is None:
        assert result.returncode != 0, result.stdout
    else:
        assert result.returncode == exit_code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in result.stderr
    return lines[0]


def admins_named(url: str, name: str = ADMIN) -> int:
    """How many admins of that name the ledger holds."""
    app = Ledger(url)
    try:
        return sum(1 for u in app.list_users() if (u["name"], u["role"]) == (name, "admin"))
    finally:
        app.engine.dispose()


def count_events(url: str) -> int:
    app = Ledger(url)
    try:
        return app.count_events()
    finally:
        app.engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port of 127.0.0.1 something listens on for the length of the test."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


@pytest.fixture
def place(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[dict[str, str], str]:
    """Where a first-run test keeps its ledger: on SQLite nothing but ``LEDGER_HOME`` (a
    folder that does not exist yet: the defaults put the database in it); on PostgreSQL the
    fixtures' fresh database and a home for the other files."""
    home = tmp_path / "home"
    if backend == "sqlite":
        return clean_env(LEDGER_HOME=str(home)), f"sqlite:///{home / 'ledger.db'}"
    url = str(request.getfixturevalue("database_url"))
    return clean_env(LEDGER_HOME=str(home), LEDGER_DATABASE_URL=url), url


# -- make demo ---------------------------------------------------------------------------------


def test_make_demo_loads_once_with_one_admin_and_says_so_the_second_time(
    place: tuple[dict[str, str], str],
) -> None:
    env, url = place
    first = make("demo-load", "SCALE=0.02", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Demo program loaded" in first.stdout
    *_, token_line = first.stdout.rstrip("\n").splitlines()
    token = token_line.strip()
    assert " " not in token and len(token) >= 32
    events = count_events(url)
    assert admins_named(url) == 1
    app = Ledger(url)
    try:
        actor = app.authenticate(token)
        assert (actor.name, actor.role) == (ADMIN, "admin")
    finally:
        app.engine.dispose()

    second = make("demo-load", "SCALE=0.02", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert count_events(url) == events
    assert admins_named(url) == 1
    # besides make's echo of each command and `db upgrade`'s "already at revision": one line
    said = [
        line
        for line in second.stdout.splitlines()
        if not line.startswith(str(BIN)) and "already at revision" not in line
    ]
    assert len(said) == 1, second.stdout
    assert "already loaded" in said[0]
    assert "users add --name" in said[0] and "--role admin" in said[0]
    assert token not in second.stdout


def test_make_demo_on_a_taken_port_says_so_before_writing_anything(
    place: tuple[dict[str, str], str], taken_port: int, tmp_path: Path
) -> None:
    env, url = place
    before = count_events(url) if url.startswith("postgresql") else None
    result = make("demo", f"PORT={taken_port}", "SCALE=0.02", env=env)
    line = one_error_line(result, exit_code=None)
    assert f"port {taken_port}" in line and "PORT=" in line and "--port" in line
    if before is None:
        assert not (tmp_path / "home").exists()
    else:
        assert count_events(url) == before == 0


def test_ledger_serve_on_a_taken_port_is_one_line(taken_port: int, tmp_path: Path) -> None:
    env = clean_env(LEDGER_HOME=str(tmp_path / "home"))
    for args in (["serve", "--check-port"], ["serve"]):
        line = one_error_line(
            ledger(*args, "--port", str(taken_port), env=env, cwd=tmp_path), exit_code=1
        )
        assert f"port {taken_port} of 127.0.0.1 is taken" in line
    assert not (tmp_path / "home").exists()
    free = ledger("serve", "--check-port", "--port", str(free_port()), env=env, cwd=tmp_path)
    assert free.returncode == 0, free.stderr
    assert not (tmp_path / "home").exists()


# -- one home for the default files --------------------------------------------------------------


def test_checkpoint_from_another_folder_finds_the_signing_key(
    place: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, url = place
    root, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    assert ledger("db", "upgrade", "--create", env=env, cwd=root).returncode == 0
    made = ledger("keys", "init", env=env, cwd=root)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "home" / "signing-key.pem").is_file()
    signed = ledger("checkpoint", env=env, cwd=elsewhere)
    assert signed.returncode == 0, signed.stderr
    assert '"tree_size"' in signed.stdout
    assert not (elsewhere / "var").exists() and list(elsewhere.iterdir()) == []


def test_without_ledger_home_the_sqlite_databases_folder_holds_the_key(tmp_path: Path) -> None:
    env = clean_env()
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    elsewhere.mkdir()
    url = f"sqlite:///{data / 'ledger.db'}"
    made = ledger("--database-url", url, "db", "upgrade", "--create", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert ledger("--database-url", url, "keys", "init", env=env, cwd=tmp_path).returncode == 0
    assert (data / "signing-key.pem").is_file()
    signed = ledger("--database-url", url, "checkpoint", env=env, cwd=elsewhere)
    assert signed.returncode == 0, signed.stderr
    # a path typed on the command line is relative to the current folder, as in any shell
    typed = ledger(
        "--database-url", url, "keys", "init", "--key-file", "mine.pem", env=env, cwd=elsewhere
    )
    assert typed.returncode == 0, typed.stderr
    assert (elsewhere / "mine.pem").is_file()


def test_a_key_left_at_the_former_default_place_is_named_not_replaced(tmp_path: Path) -> None:
    env = clean_env(LEDGER_HOME=str(tmp_path / "home"))
    old = tmp_path / "var" / "signing-key.pem"
    old.parent.mkdir()
    made = ledger("keys", "init", "--key-file", str(old), env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    refused = one_error_line(ledger("keys", "init", env=env, cwd=tmp_path), exit_code=1)
    assert str(old) in refused and str(tmp_path / "home" / "signing-key.pem") in refused
    assert not (tmp_path / "home" / "signing-key.pem").exists()


# -- database URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["mysql://root@localhost/ledger", "foo", "mongodb://x/y", "sqlite+aiosqlite:///{tmp}/x.db"],
)
@pytest.mark.parametrize("command", [["db", "upgrade"], ["users", "list"], ["keys", "init"]])
def test_a_database_url_that_is_not_sqlite_or_postgresql_is_one_line_and_creates_nothing(
    url: str, command: list[str], tmp_path: Path
) -> None:
    url = url.format(tmp=tmp_path)
    env = clean_env(LEDGER_HOME=str(tmp_path / "home"))
    before = sorted(tmp_path.iterdir())
    for given, extra in ((["--database-url", url], {}), ([], {"LEDGER_DATABASE_URL": url})):
        result = ledger(*given, *command, env={**env, **extra}, cwd=tmp_path)
        line = one_error_line(result, exit_code=2)
        assert "sqlite:///" in line and "postgresql://" in line
        scheme = url.split("://")[0] if "://" in url else "no scheme"
        assert scheme in line
    assert sorted(tmp_path.iterdir()) == before


def test_a_sqlite_file_in_a_folder_that_does_not_exist_needs_create(tmp_path: Path) -> None:
    env = clean_env(LEDGER_HOME=str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    port = str(free_port())
    line = one_error_line(
        ledger("--database-url", url, "db", "upgrade", env=env, cwd=tmp_path), exit_code=2
    )
    assert str(tmp_path / "no" / "such" / "dir") in line and "--create" in line
    assert not (tmp_path / "no").exists()
    # the default database too: its folder (the home) is not made without --create
    assert "--create" in one_error_line(ledger("db", "upgrade", env=env, cwd=tmp_path), exit_code=2)
    assert not (tmp_path / "home").exists()
    # a command that only reads makes no empty database either
    for command in (["users", "list"], ["projections", "status"], ["serve", "--port", port]):
        line = one_error_line(
            ledger("--database-url", url, *command, env=env, cwd=tmp_path), exit_code=1
        )
        assert "no database" in line and "db upgrade --create" in line
    assert not (tmp_path / "no").exists()

    made = ledger("--database-url", url, "db", "upgrade", "--create", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "no" / "such" / "dir" / "x.db").is_file()
    listed = ledger("--database-url", url, "users", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0 and "No users yet" in listed.stdout


def test_a_missing_sqlite_file_in_a_folder_that_exists_is_not_created_by_reading(
    tmp_path: Path,
) -> None:
    env = clean_env(LEDGER_HOME=str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'x.db'}"
    for command in (
        ["users", "list"],
        ["projections", "status"],
        ["export", "events", "--out", str(tmp_path / "e.jsonl")],
    ):
        line = one_error_line(
            ledger("--database-url", url, *command, env=env, cwd=tmp_path), exit_code=1
        )
        assert "no database" in line and "ledger db upgrade" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []
