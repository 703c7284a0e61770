"""``ledger docs api``: write (or check) the endpoints part of ``docs/api.md`` from the OpenAPI
document the server serves (``api/docs.py``). Needs no database."""

from __future__ import annotations

from pathlib import Path

import click

from api import docs as contract
from api import openapi
from api.cli.errors import CliError
from api.routes import ENDPOINTS
from ledger.messages import Message


@click.group()
def docs() -> None:
    """Write the documentation made from the code."""


@docs.command("api")
@click.option(
    "--out",
    "path",
    default=str(contract.PATH),
    show_default=True,
    help="The contract to rewrite between its markers (run from the repository's root).",
)
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 if the file is not what it would be."
)
def docs_api(path: str, check: bool) -> None:
    """Rewrite the endpoints of docs/api.md from the OpenAPI document (GET /openapi.json)."""
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(
            Message("cannot read {path}: {reason}", path=path, reason=error.strerror or error)
        ) from None
    try:
        made = contract.update(text, openapi.document(ENDPOINTS))
    except contract.Unmarked:
        raise CliError(
            Message(
                "{path} lacks the lines {begin!r} and {end!r} around its generated part",
                path=path,
                begin=contract.BEGIN,
                end=contract.END,
            )
        ) from None
    if check:
        if made != text:
            raise CliError(
                Message(
                    "{path} is out of date with the OpenAPI document: run {command}",
                    path=path,
                    command=contract.COMMAND,
                )
            )
        click.echo(f"{path} is up to date.")
        return
    if made == text:
        click.echo(f"{path} is up to date.")
        return
    partial = target.with_name(target.name + ".partial")
    partial.write_text(made, encoding="utf-8")
    partial.replace(target)
    click.echo(f"Wrote {path}.")
