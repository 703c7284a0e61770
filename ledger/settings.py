"""Every setting read from the environment: its name, default, meaning, and how it is read.

One definition a variable, in one place. A setting is read when asked (``SETTING.get()``),
never once at import, so a change of the environment (``monkeypatch.setenv`` in a test, the
environment of a child process) is seen by the next read. An unset or empty variable means
the default; a value that cannot be used is refused with a ``ValueError`` naming the
variable. A path that is given means what it means in a shell (relative: to the current
folder); a path setting left unset is a file of the home (``LEDGER_HOME``, see
``ledger/home.py``, the one place that turns the unset ones into paths). This module is
the lowest layer: every other (``ledger``, ``projections``, ``api``, ``migrations``, the
tests, the benchmarks) reads its settings here and imports nothing else for them.

The first settings are the ledger's own; the last three are read only by the test suite and
the benchmarks (named here so that one list holds every variable). The README's
Configuration table lists exactly these, in this order, with these defaults and meanings
(``tests/unit/test_settings.py`` checks it).

The eventsourcing library reads the environment too: :class:`ledger.service.Ledger` passes
it its own settings (``ledger.persistence.event_store_env``), and the library also honours
any of its variables prefixed by the application's name (``LEDGER_…``). Those are the
library's, not listed here; of them the ledger itself reads only
:data:`AGGREGATE_CACHE_SIZE`, through the library's environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from ledger.messages import Message

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """One environment variable: ``default`` is the text used when it is unset or empty
    (``""``: unset, no value), ``parse`` turns the text into the value or raises
    ``ValueError``; ``strip`` drops the blanks around the text first."""

    name: str
    default: str
    meaning: str
    parse: Callable[[str], T]
    strip: bool = False

    def text(self, environ: Mapping[str, str] | None = None) -> str:
        """The variable's text (from ``environ``, default ``os.environ``), else the default."""
        value = (os.environ if environ is None else environ).get(self.name) or ""
        if self.strip:
            value = value.strip()
        return value or self.default

    def get(self, environ: Mapping[str, str] | None = None) -> T:
        """The setting's value now (from ``environ``, default ``os.environ``)."""
        return self.parse(self.text(environ))


def _text(value: str) -> str:
    return value


def _whole_number(name: str, refusal: Callable[[str, str], Message]) -> Callable[[str], int]:
    """ASCII digits only (no sign, no ``_``, no other script's digits); else ``refusal(name,
    value)``."""

    def parse(value: str) -> int:
        if not re.fullmatch("[0-9]+", value):
            raise ValueError(refusal(name, value))
        return int(value)

    return parse


def _role_name(value: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        raise ValueError(
            Message(
                "{name}={value!r} is not a plain role name (lower-case letters, digits and _, "
                "at most 63, not starting with a digit).",
                name=APP_ROLE.name,
                value=value,
            )
        )
    return value


def _path(value: str) -> Path | None:
    """A path as given (relative: to the current folder, made absolute), or None when unset:
    then ``ledger.home`` gives the default, in the home."""
    return Path(value).absolute() if value else None


def _is_set(value: str) -> bool:
    return bool(value)


def _yes(value: str) -> bool:
    return value.lower() in {"1", "true", "yes"}


# -- the ledger's own ---------------------------------------------------------------------------

HOME = Setting(
    "LEDGER_HOME",
    "",
    "the folder of the ledger's own files: every default path is in it (the SQLite database "
    "`ledger.db`, the signing key `signing-key.pem`, the replay snapshots `replay/`); unset: "
    "the folder of the SQLite database named by `LEDGER_DATABASE_URL` or `--database-url`, "
    "else (PostgreSQL, or no database named) `var/` in the checkout (`ledger/home.py`)",
    _path,
)
DATABASE_URL = Setting(
    "LEDGER_DATABASE_URL",
    "",
    "the one database: events, and later read models; unset: the SQLite file `ledger.db` in "
    "`LEDGER_HOME`. SQLite: `sqlite:///path/to/file.db`; PostgreSQL: "
    "`postgresql+psycopg2://user@host/dbname` (`postgresql://` is accepted too); no other",
    _text,
)
AGGREGATE_CACHE_SIZE = Setting(
    "LEDGER_AGGREGATE_CACHE_SIZE",
    "5000",
    "how many aggregates a process keeps in memory between commands (`ledger/repository.py`); "
    "`0` keeps none",
    int,  # read as Python's int() reads it: signs, blanks and _ allowed
)
SIGNING_KEY = Setting(
    "LEDGER_SIGNING_KEY",
    "",
    "the Ed25519 private key that signs checkpoints (made by `ledger keys init`, mode 0600; "
    "never in the database, never committed); unset: `signing-key.pem` in `LEDGER_HOME`",
    _path,
)
ORIGIN = Setting(
    "LEDGER_ORIGIN",
    "nscl-ledger",
    "the origin line of signed checkpoints (also the key name in the key id)",
    _text,
)
APP_ROLE = Setting(
    "LEDGER_APP_ROLE",
    "nscl_app",
    "read by `ledger db upgrade` on PostgreSQL: the least-privilege login role it creates",
    _role_name,
)
REPLAY_DIR = Setting(
    "LEDGER_REPLAY_DIR",
    "",
    "where replay snapshots are kept (a cache: one directory per database, safe to delete); "
    "unset: `replay/` in `LEDGER_HOME`",
    _path,
)
REPLAY_SNAPSHOT_EVERY = Setting(
    "LEDGER_REPLAY_SNAPSHOT_EVERY",
    "20000",
    "events between two replay snapshots; `0` turns them off (past views then fold from the "
    "first event)",
    _whole_number(
        "LEDGER_REPLAY_SNAPSHOT_EVERY",
        lambda name, _: Message("{name} must be a whole number of events (0: off)", name=name),
    ),
    strip=True,
)
READY_MAX_LAG = Setting(
    "LEDGER_READY_MAX_LAG",
    "1000",
    "`/api/health/ready` answers 503 while a projection is more events than this behind the "
    "head of the log",
    _whole_number(
        "LEDGER_READY_MAX_LAG",
        lambda name, value: Message(
            "{name} must be a whole number of events (0 or more), not {value!r}",
            name=name,
            value=value,
        ),
    ),
    strip=True,
)
TOKEN = Setting(
    "LEDGER_TOKEN",
    "",
    "the bearer token of the person a command line command acts for (`ledger rules add`, "
    "`ledger year close`, `ledger estimate …`), instead of `--token`",
    _text,
    strip=True,
)
SESSION_SECRET = Setting(
    "LEDGER_SESSION_SECRET",
    "",
    "the secret that signs the pages' session cookies (at least 32 characters); unset: a "
    "random one per server process, so a restart signs everyone out",
    _text,
    strip=True,
)
HTTPS = Setting(
    "LEDGER_HTTPS",
    "",
    "set (to anything) when the pages are reached over HTTPS (a proxy in front): session "
    "cookies are then marked `Secure`",
    _is_set,
)
DEBUG = Setting(
    "LEDGER_DEBUG",
    "",
    "set (to anything): an unexpected error of a command also prints its traceback (it "
    "always prints one line)",
    _is_set,
)

# -- read by the test suite and the benchmarks only ------------------------------------------

TEST_PG_URL = Setting(
    "LEDGER_TEST_PG_URL",
    "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
    "server on which the tests create their databases",
    _text,
)
BENCH_PG_URL = Setting(
    "LEDGER_BENCH_PG_URL",
    "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
    "server on which the benchmarks create theirs",
    _text,
)
CI = Setting("CI", "", "`true` makes the PostgreSQL tests required", _yes)

#: every setting, in the order of the README's Configuration table
SETTINGS: tuple[Setting[Any], ...] = (
    HOME,
    DATABASE_URL,
    AGGREGATE_CACHE_SIZE,
    SIGNING_KEY,
    ORIGIN,
    APP_ROLE,
    REPLAY_DIR,
    REPLAY_SNAPSHOT_EVERY,
    READY_MAX_LAG,
    TOKEN,
    SESSION_SECRET,
    HTTPS,
    DEBUG,
    TEST_PG_URL,
    BENCH_PG_URL,
    CI,
)
