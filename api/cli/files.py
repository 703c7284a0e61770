"""Files a command writes (exports, checkpoints, keys): never half-written, never clobbered.

:func:`new_file` refuses an existing file unless ``--force`` is given, and a folder that is
not there; :func:`writing` writes ``NAME.partial`` and renames it into place only once whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from api.cli.errors import CliError
from ledger.messages import Message


def new_file(path: str, force: bool) -> Path:
    """``path`` to write, refused if it exists (without ``force``) or has no folder."""
    target = Path(path)
    if target.exists() and not force:
        raise CliError(Message("{path} exists; choose another file or pass --force", path=path))
    if not target.parent.is_dir():
        raise CliError(
            Message(
                "there is no folder {folder} to write {name} into",
                folder=target.parent,
                name=target.name,
            )
        )
    return target


@contextmanager
def writing(target: Path) -> Iterator[IO[bytes]]:
    """``target`` written through ``target.partial``, renamed into place only once whole."""
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as file:
            yield file
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
