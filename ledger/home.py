"""Where the ledger keeps its own files: one folder, the home, and every default path in it.

A path the ledger uses without being told one is a file of the home:

- the SQLite database, ``ledger.db`` (else ``LEDGER_DATABASE_URL`` or ``--database-url``);
- the signing key, ``signing-key.pem`` (else ``LEDGER_SIGNING_KEY`` or ``--key-file``);
- the replay snapshots, ``replay/`` (else ``LEDGER_REPLAY_DIR``).

The home is ``LEDGER_HOME`` if it is set; else the folder of the SQLite database file, when
the database is one (named by ``LEDGER_DATABASE_URL`` or ``--database-url``); else (a
PostgreSQL database, or none named) the default home: the ``var/`` folder of the checkout
the ledger runs from, where ``make demo`` keeps its files (installed outside a checkout:
``$XDG_DATA_HOME/nscl-ledger``, by default ``~/.local/share/nscl-ledger``). So every
command finds the same files from whatever folder it is run in.

A path that is given (an option, one of those variables, ``LEDGER_HOME`` itself) means what
a path typed in a shell means: relative to the current folder.

The files of a checkout set up before the home existed stay where they were: ``make demo``
used ``var/ledger.db`` and ``var/signing-key.pem`` under the checkout, which is the default
home. A signing key left at the former default place (``var/signing-key.pem`` under the
folder a command ran in) is named by :func:`former_signing_key`, so that it is moved, not
replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy.exc
from sqlalchemy.engine import make_url

from ledger import settings

DATABASE_FILE = "ledger.db"
SIGNING_KEY_FILE = "signing-key.pem"
REPLAY_FOLDER = "replay"
#: the folder a checkout keeps its files in (``.gitignore``: ``var/``)
CHECKOUT_FOLDER = "var"
#: where the signing key was looked for by default before the home (the current folder's)
FORMER_SIGNING_KEY = Path(CHECKOUT_FOLDER) / SIGNING_KEY_FILE


def checkout() -> Path | None:
    """The checkout the ledger runs from (the folder of ``pyproject.toml`` beside the
    ``ledger`` package: ``make install`` installs it in place), or None if installed."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def default_home() -> Path:
    """The home when ``LEDGER_HOME`` is not set and no SQLite database is named."""
    root = checkout()
    if root is not None:
        return root / CHECKOUT_FOLDER
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data).absolute() / "nscl-ledger"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL, absolute (None: not SQLite, in memory, or not a
    URL SQLAlchemy reads)."""
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database)).absolute()


def home(url: str | None = None) -> Path:
    """The home of the ledger whose database is ``url`` (None: ``LEDGER_DATABASE_URL``'s,
    else the default database's)."""
    given = settings.HOME.get()
    if given is not None:
        return given
    database = sqlite_file(url or settings.DATABASE_URL.get())
    return database.parent if database is not None else default_home()


def default_database() -> Path:
    """The SQLite file used when no database is named: ``ledger.db`` in the home."""
    return (settings.HOME.get() or default_home()) / DATABASE_FILE


def signing_key(url: str | None = None) -> Path:
    """``LEDGER_SIGNING_KEY``, else ``signing-key.pem`` in the home."""
    return settings.SIGNING_KEY.get() or home(url) / SIGNING_KEY_FILE


def replay_dir(url: str | None = None) -> Path:
    """``LEDGER_REPLAY_DIR``, else ``replay/`` in the home."""
    return settings.REPLAY_DIR.get() or home(url) / REPLAY_FOLDER


def former_signing_key(url: str | None = None) -> Path | None:
    """A signing key at the place it was looked for by default before the home existed
    (``var/signing-key.pem`` under the current folder), if there is one there and it is not
    the file looked for now (and ``LEDGER_SIGNING_KEY`` does not name the key)."""
    if settings.SIGNING_KEY.get() is not None:
        return None
    former = FORMER_SIGNING_KEY.absolute()
    if not former.is_file():
        return None
    now = signing_key(url)
    if now.exists() and now.samefile(former):
        return None
    return former
