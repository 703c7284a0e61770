"""Where the ledger keeps its own files (``ledger/home.py``): one home for every default path,
``LEDGER_HOME`` if set, else the SQLite database's folder, else the checkout's ``var/``; a
path that is given means what it says, relative to the current folder; only SQLite and
PostgreSQL URLs are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import home
from ledger.persistence import UnusableDatabaseURL, database_url

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/ledger"


@pytest.fixture(autouse=True)
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """None of the path settings set; the current folder a fresh one."""
    for name in ("LEDGER_HOME", "LEDGER_DATABASE_URL", "LEDGER_SIGNING_KEY", "LEDGER_REPLAY_DIR"):
        monkeypatch.delenv(name, raising=False)
    here = tmp_path / "elsewhere"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


def test_without_settings_everything_is_in_the_checkouts_var_folder() -> None:
    var = ROOT / "var"
    assert home.default_home() == var
    assert database_url() == f"sqlite:///{var / 'ledger.db'}"
    assert home.home(None) == var
    assert home.signing_key(None) == var / "signing-key.pem"
    assert home.replay_dir(None) == var / "replay"


def test_a_sqlite_database_is_the_home_of_the_files_beside_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'ledger.db'}"
    assert home.home(url) == tmp_path / "data"
    assert home.signing_key(url) == tmp_path / "data" / "signing-key.pem"
    assert home.replay_dir(url) == tmp_path / "data" / "replay"


def test_postgresql_without_ledger_home_uses_the_checkouts_var_folder() -> None:
    assert home.home(PG) == ROOT / "var"
    assert home.signing_key(PG) == ROOT / "var" / "signing-key.pem"


def test_ledger_home_wins_for_every_default_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LEDGER_HOME", str(tmp_path / "home"))
    sqlite_elsewhere = f"sqlite:///{tmp_path / 'data' / 'x.db'}"
    for url in (None, PG, sqlite_elsewhere):
        assert home.home(url) == tmp_path / "home"
        assert home.signing_key(url) == tmp_path / "home" / "signing-key.pem"
        assert home.replay_dir(url) == tmp_path / "home" / "replay"
    assert database_url() == f"sqlite:///{tmp_path / 'home' / 'ledger.db'}"


def test_a_relative_path_that_is_given_is_relative_to_the_current_folder(
    monkeypatch: pytest.MonkeyPatch, no_settings: Path
) -> None:
    monkeypatch.setenv("LEDGER_HOME", "h")
    assert home.home(None) == no_settings / "h"
    monkeypatch.setenv("LEDGER_SIGNING_KEY", "k.pem")
    monkeypatch.setenv("LEDGER_REPLAY_DIR", "r")
    assert home.signing_key(PG) == no_settings / "k.pem"
    assert home.replay_dir(PG) == no_settings / "r"
    # a relative SQLite URL is a file of the current folder, made absolute once
    assert database_url("sqlite:///d/x.db") == f"sqlite:///{no_settings / 'd' / 'x.db'}"
    monkeypatch.delenv("LEDGER_HOME")
    assert home.home("sqlite:///d/x.db") == no_settings / "d"


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://root@localhost/ledger", "mysql"),
        ("mysql+pymysql://root:secret@localhost/ledger", "mysql+pymysql"),
        ("oracle://x@y/z", "oracle"),
        ("foo", "no scheme"),
        ("/var/ledger.db", "no scheme"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite"),
    ],
)
def test_only_sqlite_and_postgresql_urls_are_accepted(url: str, named: str) -> None:
    with pytest.raises(UnusableDatabaseURL) as refused:
        database_url(url)
    message = str(refused.value)
    assert named in message
    assert "sqlite:///" in message and "postgresql://" in message
    assert "secret" not in message


@pytest.mark.parametrize(
    ("url", "used"),
    [
        (PG, PG),
        (
            "postgresql://postgres@127.0.0.1/ledger",
            "postgresql+psycopg2://postgres@127.0.0.1/ledger",
        ),
        ("postgres://postgres@127.0.0.1/ledger", "postgresql+psycopg2://postgres@127.0.0.1/ledger"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
    ],
)
def test_the_accepted_urls(url: str, used: str) -> None:
    assert database_url(url) == used


def test_reading_a_url_creates_nothing(tmp_path: Path) -> None:
    database_url(f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")
    assert not (tmp_path / "no").exists()
