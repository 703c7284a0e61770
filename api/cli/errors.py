"""Every mistake as one line: what the command line says when something goes wrong.

A mistake the user can fix (a refused command, a wrong code, a database that has not been
migrated, a bad option) is ONE line on stderr, ``Error: …``, with a non-zero exit status,
never a traceback. :class:`LedgerGroup` (the class of the top-level group) turns every
exception into that line; :func:`explain` phrases the ones it knows; anything else is a bug,
still said in one line (``LEDGER_DEBUG`` adds the traceback).

The line is in Vietnamese (``Lỗi: …``) when the locale says so (``LC_ALL``, else
``LC_MESSAGES``, else ``LANG`` starting with ``vi``; ``api/languages.py``), else in English:
every message is a :class:`~ledger.messages.Message`, rendered here, click's own included
(:func:`click_message` reads them back into the catalogue's templates).
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import click
import sqlalchemy.exc
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from api import languages
from ledger import catalogue, settings
from ledger.errors import LedgerError
from ledger.messages import OR, SEMICOLON, Joined, Message, Terms, ValidationMessage, Verbatim, said
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
    """A mistake the user can fix, already phrased as one line (English as ``str()``); exit
    status 1."""

    exit_code = 1

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


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


def _hint(field: str, value: Any) -> Message | str:
    if field == "role":
        return Message(" (one of: {roles})", roles=", ".join(catalogue.ROLES))
    if field == "department" and isinstance(value, str):
        close = difflib.get_close_matches(value.upper(), list(catalogue.DEPARTMENTS), n=3)
        if close:
            return Message(" (did you mean {close}?)", close=Joined(close, OR))
        return Message(
            " (a department code of the program catalogue, e.g. SKHCN, STC, SCT, QH-CAUGIAY)"
        )
    return ""


def explain_validation(
    error: ValidationError, names: Mapping[str, str] = FIELD_NAMES, *, hints: bool = True
) -> Message:
    """A pydantic validation error as one readable line naming the field(s) as the user
    typed them: ``names`` maps a field (the first part of pydantic's ``loc``) to its option
    or argument; a field it does not name is named by its ``loc``. With ``hints``, a wrong
    role or department also says what it may be (``replay`` has never added them)."""
    parts = []
    for problem in error.errors(include_url=False):
        loc = [str(part) for part in problem.get("loc", ())]
        field = loc[0] if loc else ""
        where = names.get(field, ".".join(loc) or "input")
        said = str(problem.get("msg", "is not valid")).removeprefix("Value error, ")
        message = ValidationMessage({**problem, "msg": said})
        hint = _hint(field, problem.get("input")) if hints else ""
        parts.append(
            Message("invalid {where}: {message}{hint}", where=where, message=message, hint=hint)
        )
    return Joined(parts, SEMICOLON)


def explain(error: BaseException, url: str | None = None) -> Message | None:
    """The one-line message for a mistake the user can fix, or ``None`` for a bug."""
    where = Message(" at {url}", url=safe_url(url)) if url else ""
    text = one_line(str(error))
    if isinstance(error, CliError):
        return error.message
    if isinstance(error, LedgerError):
        return error.detail
    if isinstance(error, ValidationError):
        return explain_validation(error)
    lowered = text.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return Message(
            "the database{where} has not been migrated: run `ledger db upgrade` first", where=where
        )
    if isinstance(error, sqlalchemy.exc.ArgumentError | sqlalchemy.exc.NoSuchModuleError):
        return Message("the database URL is not usable: {text}", text=text)
    if isinstance(error, sqlalchemy.exc.DBAPIError | PersistenceError):
        first = text.split(" [SQL:")[0].split(" (Background on")[0]
        return Message("cannot use the database{where}: {first}", where=where, first=first)
    return None


# -- click's own messages ------------------------------------------------------------------

#: what click calls a missing parameter, and a path it cannot find
CLICK_PARAMETER = Terms("command line parameter", ("argument", "option", "parameter"))
CLICK_PATH = Terms("command line path", ("File", "Directory", "Path"))
CLICK_NUMBER = Terms("command line number", ("integer", "float"))

#: click's messages (its English templates, ``click/{core,parser,types,exceptions}.py``) read
#: back as the catalogue's: a pattern of the whole text, and the message it is. A text none
#: matches is shown as click wrote it.
CLICK_SAYS: tuple[tuple[re.Pattern[str], Callable[[dict[str, str]], Message]], ...] = tuple(
    (re.compile(pattern, re.DOTALL), make)
    for pattern, make in (
        (r"No such option (?P<name>'[^']*')\.", lambda g: Message("No such option {name}.", **g)),
        (
            r"No such option (?P<name>'[^']*')\. Did you mean (?P<possibility>.+)\?",
            lambda g: Message("No such option {name}. Did you mean {possibility}?", **g),
        ),
        (
            r"No such option (?P<name>'[^']*')\. \(Did you mean one of: (?P<possibilities>.+)\?\)",
            lambda g: Message(
                "No such option {name}. (Did you mean one of: {possibilities}?)", **g
            ),
        ),
        (r"No such command (?P<name>'[^']*')\.", lambda g: Message("No such command {name}.", **g)),
        (r"Missing command\.", lambda g: Message("Missing command.")),
        (
            r"Got unexpected extra argument \((?P<args>.*)\)",
            lambda g: Message("Got unexpected extra argument ({args})", **g),
        ),
        (
            r"Got unexpected extra arguments \((?P<args>.*)\)",
            lambda g: Message("Got unexpected extra arguments ({args})", **g),
        ),
        (
            r"Option (?P<name>'[^']*') requires an argument\.",
            lambda g: Message("Option {name} requires an argument.", **g),
        ),
        (
            r"Option (?P<name>'[^']*') requires (?P<nargs>[0-9]+) arguments\.",
            lambda g: Message("Option {name} requires {nargs} arguments.", **g),
        ),
        (
            r"Option (?P<name>'[^']*') does not take a value\.",
            lambda g: Message("Option {name} does not take a value.", **g),
        ),
        (
            r"Missing (?P<kind>argument|option|parameter)(?P<hint> .+?)?\.(?P<extra> .*)?",
            lambda g: Message(
                "Missing {kind}{hint}.{extra}",
                kind=CLICK_PARAMETER(g["kind"]),
                hint=g["hint"] or "",
                extra=Verbatim(g["extra"] or ""),
            ),
        ),
        (
            r"(?P<value>.+) is not a valid (?P<kind>integer|float)\.",
            lambda g: Message(
                "{value} is not a valid {kind}.", value=g["value"], kind=CLICK_NUMBER(g["kind"])
            ),
        ),
        (
            r"(?P<value>.+) is not one of (?P<choices>.+)\.",
            lambda g: Message("{value} is not one of {choices}.", **g),
        ),
        (
            r"(?P<value>.+) is not (?P<choice>'[^']*')\.",
            lambda g: Message("{value} is not {choice}.", **g),
        ),
        (
            r"(?P<value>.+) is not in the range (?P<range>.+)\.",
            lambda g: Message("{value} is not in the range {range}.", **g),
        ),
        (
            r"(?P<value>.+) does not match the formats? (?P<formats>.+)\.",
            lambda g: Message("{value} does not match the format {formats}.", **g),
        ),
        (
            r"(?P<value>.+) is not a valid boolean\. Recognized values: (?P<states>.+)",
            lambda g: Message("{value} is not a valid boolean. Recognized values: {states}", **g),
        ),
        (
            r"(?P<kind>File|Directory|Path) (?P<name>'.*') does not exist\.",
            lambda g: Message(
                "{kind} {name} does not exist.", kind=CLICK_PATH(g["kind"]), name=g["name"]
            ),
        ),
    )
)


def _click_said(text: str) -> Message:
    """Click's ``text`` as the catalogue's message (its English exactly), else as is."""
    for pattern, make in CLICK_SAYS:
        found = pattern.fullmatch(text)
        if found is not None:
            message = make(found.groupdict())
            if message == text:
                return message
    return Verbatim(text)


def click_message(error: click.ClickException) -> Message:
    """What click says of a mistake on the command line, as a :class:`Message` whose English
    is exactly click's: an invalid value's own words (ours, or click's types') inside."""
    text = error.format_message()
    if isinstance(error, click.BadParameter) and not isinstance(error, click.MissingParameter):
        inner = error.message
        said = inner if isinstance(inner, Message) else _click_said(inner)
        framed = re.fullmatch(r"Invalid value for (?P<hint>.+?): (?P<message>.*)", text, re.DOTALL)
        if framed is not None and framed["message"] == inner:
            message = Message(
                "Invalid value for {param_hint}: {message}", param_hint=framed["hint"], message=said
            )
        else:
            message = Message("Invalid value: {message}", message=said)
        if message == text:
            return message
    return _click_said(text)


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
        language = languages.from_environment(os.environ)

        def error_line(message: Message) -> None:
            line = Message("Error: {message}", message=message).render(language)
            click.echo(one_line(line), err=True)

        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.format_message(), err=True)
            result = error.exit_code
        except click.ClickException as error:
            message = click_message(error)
            context = getattr(error, "ctx", None)
            if isinstance(error, click.UsageError) and context is not None:
                message = Message(
                    "{message} (see `{command} --help`)",
                    message=message,
                    command=context.command_path,
                )
            error_line(message)
            result = error.exit_code
        except click.Abort:
            click.echo(Message("Aborted.").render(language), err=True)
            result = 1
        except CliError as error:
            error_line(error.message)
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
            raise UnusableInput(said(error)) from error
        except Exception as error:
            url = (ctx.obj or {}).get("resolved_url")
            message = explain(error, url)
            if message is None:  # a bug, not a mistake: one line all the same
                if settings.DEBUG.get():
                    traceback.print_exc()
                message = Message(
                    "unexpected error ({kind}: {error}); nothing more was done. Set "
                    "{setting}=1 to see where it happened",
                    kind=type(error).__name__,
                    error=Verbatim(str(error)),
                    setting=settings.DEBUG.name,
                )
            raise CliError(message) from error
