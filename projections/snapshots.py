"""Replay snapshots: the projections as they stood every ``LEDGER_REPLAY_SNAPSHOT_EVERY``
events, kept so that a replay folds only the events after the nearest one.

A replay as known at position *P* (:func:`projections.replay.replay`) starts its throw-away
store from the snapshot at the greatest kept position *S* ≤ *P* and folds only the events
*S*+1 … *P*, batch by batch as the live catch-up does, with the live projections' own code.
What it answers is the same as a fold from the first event: the snapshot at *S* is that
fold, stopped at *S*.

The snapshots of one ledger database live in a SQLite file in a directory of their own under
``LEDGER_REPLAY_DIR`` (default ``replay/`` in the home, ``ledger/home.py``), named by the
database's address. They are a cache: deleting them loses nothing; they are made again when needed.

* Appended tables (``TableDef.appended``: audit trail, journal postings) are kept once:
  their rows never change, so the rows of every event up to *S* are the snapshot at *S*. A
  replay store reads them from the file itself (attached), beside the rows it appends.
* Keyed tables are kept as versions: a row changed between two snapshots gets a new version
  ``since`` the later one, and its previous version ends (``until``) there. The snapshot at
  *S* is the versions with ``since`` ≤ *S* < ``until``, copied into the replay store.

A snapshot is used only while it still describes this log: each one records the Merkle root
of the log's first *S* events, and the live tree must give the same root (a database
restored from a backup and written on differently, or another database at the same address,
does not). Each projection's module source is fingerprinted too, so a changed fold never
starts from a snapshot the old code made. Otherwise a new file is made from the first event.

Snapshots are made (and extended) ahead of time by ``ledger serve`` in the background, by
``ledger projections snapshots``, or else by the first replay that reaches past the last one.
One process at a time makes them (an exclusive lock on ``extend.lock``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import inspect
import logging
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.pool import NullPool

import projections.base
from ledger import home, settings
from ledger.service import Ledger
from projections.base import Progress, Projection, TableDef
from projections.bulk import insert_rows
from projections.folding import gc_paused
from projections.registry import PROJECTIONS
from projections.source import decoder_for, read_batch

log = logging.getLogger(__name__)

#: changes whenever the file's layout does (older files are then made again)
FORMAT = "nscl-replay-snapshots/1"

RootAt = Callable[[int], bytes | None]


def _json_text(value: Any) -> str:
    """JSON as the replay stores write it (``orjson``; the same text in both files)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def sqlite_engine(url: str, pragmas: Iterable[str], **options: Any) -> Engine:
    """An engine on a SQLite database of the replays' own (a store or a snapshot file): JSON
    by ``orjson``, and ``pragmas`` (``"name = value"``) set on each new connection."""
    engine = create_engine(
        url, json_serializer=_json_text, json_deserializer=orjson.loads, **options
    )
    settings = [f"PRAGMA {pragma}" for pragma in pragmas]

    @sa_event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for setting in settings:
            cursor.execute(setting)
        cursor.close()

    return engine


def every_setting() -> int:
    """Events between two snapshots (``LEDGER_REPLAY_SNAPSHOT_EVERY``; 0 turns them off)."""
    return settings.REPLAY_SNAPSHOT_EVERY.get()


def snapshots_for(ledger: Ledger, classes: Iterable[type[Projection]]) -> Snapshots | None:
    """The ledger's replay snapshots, or None if they are turned off or do not apply to one
    of ``classes``."""
    every = every_setting()
    chosen = list(classes)
    if every == 0 or not chosen or not all(cls.SNAPSHOTS for cls in chosen):
        return None
    directory = home.replay_dir(ledger.url)
    address = ledger.engine.url.render_as_string(hide_password=True)
    name = hashlib.sha256(address.encode()).hexdigest()[:20]
    return Snapshots(directory / name, every)


def snapshotted() -> list[type[Projection]]:
    """The projections replay snapshots keep (every one that allows them)."""
    return [cls for cls in PROJECTIONS if cls.SNAPSHOTS]


@functools.cache
def fingerprint() -> str:
    """What a snapshot file must have been made by: its format and the source of the module
    of every projection it keeps (and of their base), so a changed fold never starts from
    what the old one made."""
    digest = hashlib.sha256(FORMAT.encode())
    modules = {projections.base} | {inspect.getmodule(cls) for cls in snapshotted()}
    for module in sorted((m for m in modules if m is not None), key=lambda m: m.__name__):
        digest.update(module.__name__.encode() + b"\0" + inspect.getsource(module).encode())
    return digest.hexdigest()


class Snapshots:
    """The replay snapshots of one ledger database: one SQLite file (see the module)."""

    def __init__(self, directory: Path, every: int) -> None:
        self.directory = directory
        self.every = every
        #: the file :meth:`prepare` found usable (what :meth:`restore` then reads)
        self.current: Path | None = None
        self.metadata = MetaData()
        #: the replay stores' set-``a`` tables (what folds and copies are shaped as)
        self.shapes: dict[str, Table] = {}
        #: where the file keeps each table: the same table (appended) or its versions (keyed)
        self.kept: dict[str, Table] = {}
        shapes = MetaData()
        for cls in snapshotted():
            for table_def in cls.TABLES:
                shape = table_def.make(shapes, "a")
                self.shapes[table_def.name] = shape
                self.kept[table_def.name] = (
                    table_def.make(self.metadata, "a")
                    if table_def.appended
                    else _versions(table_def, shape, self.metadata)
                )
        self.positions = Table(
            "replay_snapshots",
            self.metadata,
            Column("position", Integer, primary_key=True, autoincrement=False),
            Column("root_hash", String(64), nullable=False),
            Column("made_at", String(32), nullable=False),
        )
        self.about = Table(
            "replay_about",
            self.metadata,
            Column("name", String(32), primary_key=True),
            Column("value", String(200), nullable=False),
        )

    # -- the files ------------------------------------------------------------------------
    #
    # The snapshots live in one SQLite file, ``gen-N.sqlite``; when they have to be made
    # again, a new generation ``gen-N+1`` is begun beside it and the older ones are removed
    # once no replay store reads them (each holds a shared lock on ``gen-N.lease`` while it
    # has the file attached: removing a SQLite file that is open corrupts what reads it).

    @property
    def path(self) -> Path:
        """The current generation's file (it may not exist yet)."""
        return self._file(max(self._generations(), default=1))

    def _file(self, generation: int) -> Path:
        return self.directory / f"gen-{generation}.sqlite"

    def _generations(self) -> list[int]:
        found = (re.fullmatch(r"gen-([0-9]+)\.sqlite", p.name) for p in self._listed())
        return sorted(int(m[1]) for m in found if m)

    def _listed(self) -> list[Path]:
        return list(self.directory.iterdir()) if self.directory.is_dir() else []

    @contextlib.contextmanager
    def _extending(self) -> Iterator[None]:
        """One process at a time makes or extends the snapshots."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / "extend.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _lease(self, path: Path) -> int | None:
        """A shared lock on ``path``'s lease (held while a store reads the file): its file
        descriptor, or None if the file is gone."""
        lease = os.open(path.with_suffix(".lease"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lease, fcntl.LOCK_SH)
        if not path.exists():
            os.close(lease)
            return None
        return lease

    def _new_generation(self) -> Path:
        """Begin the next generation (an empty file) and remove the older ones no store reads."""
        path = self._file(max(self._generations(), default=0) + 1)
        for generation in self._generations():
            old = self._file(generation)
            with open(old.with_suffix(".lease"), "a") as lease:
                try:
                    fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a replay store still reads it: removed next time
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{old}{suffix}").unlink(missing_ok=True)
                old.with_suffix(".lease").unlink(missing_ok=True)
        return path

    @contextlib.contextmanager
    def _engine(self, path: Path) -> Iterator[Engine]:
        engine = sqlite_engine(
            f"sqlite:///{path}",
            ("journal_mode = WAL", "synchronous = NORMAL", "busy_timeout = 30000"),
            poolclass=NullPool,
        )

        try:
            yield engine
        finally:
            engine.dispose()

    def _usable(self, root_at: RootAt) -> tuple[Path, list[int]]:
        """The current file and the positions of its snapshots, if it was made by this code
        from this log; otherwise a new, empty generation (and no positions)."""
        path = self.path
        made_by: str | None = None
        positions: list[tuple[int, str]] = []
        if path.exists():
            try:
                with self._engine(path) as engine, engine.connect() as connection:
                    made_by = connection.execute(
                        select(self.about.c.value).where(self.about.c.name == "fingerprint")
                    ).scalar()
                    positions = list(
                        connection.execute(
                            select(self.positions.c.position, self.positions.c.root_hash).order_by(
                                self.positions.c.position
                            )
                        ).tuples()
                    )
            except Exception as error:  # noqa: BLE001 - any unreadable file is made again
                log.warning("replay snapshots %s unreadable (%s): made again", path, error)
        if made_by == fingerprint():
            if not positions:
                return path, []
            last, recorded = positions[-1]
            root = root_at(last)
            if root is not None and root.hex() == recorded:
                return path, [position for position, _ in positions]
            log.warning(
                "replay snapshots %s no longer describe this log (root at %s): made again",
                path,
                last,
            )
        path = self._new_generation()
        partial = path.with_name(f"{path.name}.partial")  # whole before it has its name
        for suffix in ("", "-wal", "-shm"):  # what a process stopped half-way left
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        with self._engine(partial) as engine:
            self.metadata.create_all(engine)
            with engine.begin() as connection:
                connection.execute(
                    insert(self.about).values(name="fingerprint", value=fingerprint())
                )
        partial.rename(path)
        return path, []

    # -- making them -----------------------------------------------------------------------

    def prepare(
        self,
        ledger: Ledger,
        upto: int,
        root_at: RootAt,
        progress: Progress | None = None,
        batch_size: int = 10_000,
        stop: threading.Event | None = None,
    ) -> int:
        """Make the snapshots up to ``upto`` that are missing (until ``stop`` is set, if
        given: those made by then are kept); answer the position of the nearest one at or
        before ``upto`` (0: none)."""
        target = upto // self.every * self.every
        if target == 0:
            return 0
        with self._extending():
            path, positions = self._usable(root_at)
            self.current = path
            last = positions[-1] if positions else 0
            if last < target:
                with self._engine(path) as engine:
                    last = self._extend(
                        engine, ledger, last, target, root_at, progress, batch_size, stop
                    )
                positions.append(last)
        return max((p for p in positions if p <= upto), default=0)

    def _extend(
        self,
        engine: Engine,
        ledger: Ledger,
        last: int,
        target: int,
        root_at: RootAt,
        progress: Progress | None,
        batch_size: int,
        stop: threading.Event | None = None,
    ) -> int:
        """Fold the events after ``last`` as a rebuild does (every keyed row in memory),
        writing a snapshot at each multiple of ``every`` up to ``target``; answer the last
        snapshot's position."""
        folds = [cls(self._shapes(cls), rebuilding=True) for cls in snapshotted()]
        if last:
            with engine.connect() as connection:
                for projection in folds:
                    self._load(connection, projection, last)
        appended: dict[str, list[dict[str, Any]]] = {}
        decoder = decoder_for(ledger)
        made = last
        with gc_paused(), ledger.engine.connect() as source:
            after = last
            while after < target and not (stop is not None and stop.is_set()):
                boundary = (after // self.every + 1) * self.every
                size = min(batch_size, boundary - after)
                batch = read_batch(ledger, source, after, size, boundary, decoder)
                if not batch:
                    break
                for projection in folds:
                    projection.fold(batch)
                    for table, rows in projection.drain(keyed=False):
                        appended.setdefault(table.name, []).extend(rows)
                after = batch[-1].position
                if after == boundary:
                    root = root_at(boundary)
                    if root is None:
                        break  # the live tree cannot vouch for this log (a gap): stop here
                    with engine.begin() as connection:
                        self._write(connection, folds, appended, boundary, root)
                    appended.clear()
                    made = boundary
                if progress is not None:
                    progress("replay snapshots", after, target)
        return made

    def _shapes(self, cls: type[Projection]) -> dict[str, Table]:
        return {d.name: self.shapes[d.name] for d in cls.TABLES}

    def _load(self, connection: Connection, projection: Projection, at: int) -> None:
        """Put the keyed rows of the snapshot at ``at`` in a rebuilding fold's memory."""
        for table_def in projection.TABLES:
            if table_def.appended:
                continue
            versions = self.kept[table_def.name]
            shape = self.shapes[table_def.name]
            query = select(*(versions.c[c.name] for c in shape.columns)).where(
                versions.c.since <= at, or_(versions.c.until.is_(None), versions.c.until > at)
            )
            buffer = projection.rows(table_def.name)
            for row in connection.execute(query).mappings():
                buffer.rows[tuple(row[k] for k in table_def.key)] = dict(row)
        projection.restored()

    def _write(
        self,
        connection: Connection,
        folds: list[Projection],
        appended: dict[str, list[dict[str, Any]]],
        position: int,
        root: bytes,
    ) -> None:
        """One snapshot, in one transaction: the appended rows since the last one, a new
        version of every keyed row changed since (ending its previous one), its position."""
        for projection in folds:
            for table_def in projection.TABLES:
                kept = self.kept[table_def.name]
                if table_def.appended:
                    insert_rows(connection, kept, appended.get(kept.name, []))
                    continue
                buffer = projection.rows(table_def.name)
                assert not buffer.appended, f"{table_def.name} is keyed, not appended to"
                if not buffer.dirty:
                    continue
                ended = (
                    update(kept)
                    .where(
                        kept.c.until.is_(None),
                        *(kept.c[k] == bindparam(f"key_{k}") for k in table_def.key),
                    )
                    .values(until=position)
                )
                connection.execute(
                    ended,
                    [
                        {f"key_{k}": v for k, v in zip(table_def.key, key, strict=True)}
                        for key in buffer.dirty
                    ],
                )
                insert_rows(
                    connection,
                    kept,
                    [
                        {**buffer.rows[key], "since": position, "until": None}
                        for key in buffer.dirty
                    ],
                )
                buffer.dirty.clear()
        connection.execute(
            insert(self.positions).values(
                position=position,
                root_hash=root.hex(),
                made_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            )
        )

    # -- using them ------------------------------------------------------------------------

    def restore(self, store: Engine, classes: Iterable[type[Projection]], at: int) -> bool:
        """Start a replay store (empty, one connection) from the snapshot at ``at`` of
        ``classes``: the file is attached to the store for as long as the store lives, and
        the keyed rows valid at ``at`` are copied into its set-``a`` tables (SQL to SQL,
        nothing decoded). The appended rows stay in the file: :meth:`join` shows them beside
        the store's own once its fold is done. False if the file no longer holds it."""
        path = self.current or self.path
        lease = self._lease(path)
        if lease is None:
            return False  # removed since: a newer generation replaced it
        # held as long as the store: released when it is disposed of or collected
        release = weakref.finalize(store, os.close, lease)
        sa_event.listen(store, "engine_disposed", lambda _engine: release())
        raw = store.raw_connection()
        try:
            # SQLAlchemy types the driver's connection Optional[Any]; on SQLite it is sqlite3's
            sqlite: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
            sqlite.execute("ATTACH DATABASE ? AS snap", (str(path),))
            return self._copy(sqlite, classes, at)
        finally:
            raw.close()

    def _copy(
        self, sqlite: sqlite3.Connection, classes: Iterable[type[Projection]], at: int
    ) -> bool:
        sqlite.execute("BEGIN")
        try:
            kept = sqlite.execute(
                "SELECT 1 FROM snap.replay_snapshots WHERE position = ?", (at,)
            ).fetchone()
            if kept is None:
                sqlite.execute("ROLLBACK")
                return False
            for table_def, shape, columns in self._tables(classes, appended=False):
                sqlite.execute(
                    f'INSERT INTO main."{shape.name}" ({columns}) SELECT {columns} '
                    f'FROM snap."{self.kept[table_def.name].name}" '
                    "WHERE since <= ? AND (until IS NULL OR until > ?)",
                    (at, at),
                )
            sqlite.execute("COMMIT")
            return True
        except BaseException:
            sqlite.execute("ROLLBACK")
            raise

    def join(self, connection: Connection, classes: Iterable[type[Projection]], at: int) -> None:
        """Once a replay store restored at ``at`` has folded what came after: each appended
        table is read as the file's rows up to ``at`` followed by the store's own (a
        temporary view of the table's name, which SQLite finds before the table itself)."""
        for _, shape, columns in self._tables(classes, appended=True):
            connection.exec_driver_sql(
                f'CREATE TEMP VIEW "{shape.name}" AS '
                f'SELECT {columns} FROM snap."{shape.name}" WHERE position <= {int(at)} '
                f'UNION ALL SELECT {columns} FROM main."{shape.name}"'
            )

    def _tables(
        self, classes: Iterable[type[Projection]], appended: bool
    ) -> Iterator[tuple[TableDef, Table, str]]:
        """The appended (or the keyed) tables of ``classes``: each one's definition, its
        shape in a replay store and its quoted column list."""
        for cls in classes:
            for table_def in cls.TABLES:
                if table_def.appended == appended:
                    shape = self.shapes[table_def.name]
                    yield table_def, shape, ", ".join(f'"{c.name}"' for c in shape.columns)


def _versions(table_def: TableDef, shape: Table, metadata: MetaData) -> Table:
    """A keyed table's versions: its columns (no key: one row per version), since when and
    until when each version held, and an index of the versions that still hold."""
    columns = [Column(c.name, c.type, nullable=c.nullable) for c in shape.columns]
    table = Table(
        f"{table_def.name}_v",
        metadata,
        *columns,
        Column("since", Integer, nullable=False),
        Column("until", Integer, nullable=True),
    )
    Index(
        f"ix_{table_def.name}_v_holds",
        *(table.c[k] for k in table_def.key),
        sqlite_where=table.c.until.is_(None),
    )
    return table
