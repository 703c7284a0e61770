"""Every mistake as one line: what the command line says when something goes wrong.

A mistake the user can fix (a refused command, a wrong code, a database that has not been
migrated, a bad option) is ONE line on stderr, ``Error: …``, with a non-zero exit status,
never a traceback. :class:`LedgerGroup` (the class of the top-level group) turns every
exception into that line; :func:`explain` phrases the ones it knows; anything else is a bug,
still said in one line (``LEDGER_DEBUG`` adds the traceback).
"""

from __future__ import annotations

import difflib
import sys
import traceback
from collections.abc import Mapping
from typing import Any

import click
import sqlalchemy.exc
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from ledger import catalogue, settings
from ledger.errors import LedgerError
from ledger.persistence import UnusableDatabaseURL

#: Command fields -> how the user typed them.
FIELD_NAMES = {
    "name": "--name",
    "role": "--role",
    "department": "--department",
    "reason": "--reason",
    "user_id": "USER_ID",
}


class CliError(Exception):
    """A mistake the user can fix, already phrased as one line; exit status 1."""

    exit_code = 1


class UnusableInput(CliError):
    """What was typed cannot be used at all (a database URL the ledger does not use, a
    database folder that is not there): exit status 2, as click's usage errors."""

    exit_code = 2


class NotMigrated(CliError):
    pass


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def safe_url(url: str | None) -> str:
    """``url`` as a message may show it: without its password."""
    if not url:
        return ""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def _hint(field: str, value: Any) -> str:
    if field == "role":
        return f" (one of: {', '.join(catalogue.ROLES)})"
    if field == "department" and isinstance(value, str):
        close = difflib.get_close_matches(value.upper(), list(catalogue.DEPARTMENTS), n=3)
        if close:
            return f" (did you mean {' or '.join(close)}?)"
        return " (a department code of the program catalogue, e.g. SKHCN, STC, SCT, QH-CAUGIAY)"
    return ""


def explain_validation(
    error: ValidationError, names: Mapping[str, str] = FIELD_NAMES, *, hints: bool = True
) -> str:
    """A pydantic validation error as one readable line naming the field(s) as the user
    typed them: ``names`` maps a field (the first part of pydantic's ``loc``) to its option
    or argument; a field it does not name is named by its ``loc``. With ``hints``, a wrong
    role or department also says what it may be (``replay`` has never added them)."""
    parts = []
    for problem in error.errors():
        loc = [str(part) for part in problem.get("loc", ())]
        field = loc[0] if loc else ""
        where = names.get(field, ".".join(loc) or "input")
        message = str(problem.get("msg", "is not valid")).removeprefix("Value error, ")
        hint = _hint(field, problem.get("input")) if hints else ""
        parts.append(f"invalid {where}: {message}{hint}")
    return "; ".join(parts)


def explain(error: BaseException, url: str | None = None) -> str | None:
    """The one-line message for a mistake the user can fix, or ``None`` for a bug."""
    where = f" at {safe_url(url)}" if url else ""
    text = one_line(str(error))
    if isinstance(error, CliError):
        return text
    if isinstance(error, LedgerError):
        return one_line(error.detail)
    if isinstance(error, ValidationError):
        return explain_validation(error)
    lowered = text.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"the database{where} has not been migrated: run `ledger db upgrade` first"
    if isinstance(error, sqlalchemy.exc.ArgumentError | sqlalchemy.exc.NoSuchModuleError):
        return f"the database URL is not usable: {text}"
    if isinstance(error, sqlalchemy.exc.DBAPIError | PersistenceError):
        first = text.split(" [SQL:")[0].split(" (Background on")[0]
        return f"cannot use the database{where}: {first}"
    return None


class LedgerGroup(click.Group):
    """The top-level group: turns every user mistake into one line on stderr."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.format_message(), err=True)
            result = error.exit_code
        except click.ClickException as error:
            message = error.format_message()
            context = getattr(error, "ctx", None)
            if isinstance(error, click.UsageError) and context is not None:
                message += f" (see `{context.command_path} --help`)"
            click.echo(f"Error: {one_line(message)}", err=True)
            result = error.exit_code
        except click.Abort:
            click.echo("Aborted.", err=True)
            result = 1
        except CliError as error:
            click.echo(f"Error: {one_line(str(error))}", err=True)
            result = error.exit_code
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, CliError):
            raise
        except UnusableDatabaseURL as error:
            raise UnusableInput(str(error)) from error
        except Exception as error:
            url = (ctx.obj or {}).get("resolved_url")
            message = explain(error, url)
            if message is None:  # a bug, not a mistake: one line all the same
                if settings.DEBUG.get():
                    traceback.print_exc()
                message = (
                    f"unexpected error ({type(error).__name__}: {error}); nothing more was "
                    f"done. Set {settings.DEBUG.name}=1 to see where it happened"
                )
            raise CliError(message) from error
