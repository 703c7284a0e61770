"""The inspector's commands: the signing key (``keys``), ``checkpoint``, ``verify``,
``export`` (the event log, the audit trail) and ``import``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import click
from pydantic import ValidationError

from api.cli.database import open_ledger, url_of
from api.cli.errors import CliError, explain_validation
from api.cli.files import new_file, writing
from api.cli.terminal import progress_bars
from ledger import checkpoint as cp
from ledger import event_log, settings
from ledger.messages import Message
from projections import checkpoints
from projections.parallel import cores
from projections.projector import Projector
from projections.verify import verify as verify_log

KEY_FILE_HELP = (
    f"Private key file (default: ${settings.SIGNING_KEY.name}, else signing-key.pem in "
    f"${settings.HOME.name}, the folder of the SQLite database by default)."
)


# -- the signing key ------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """The Ed25519 key that signs checkpoints (a file, never in the database)."""


@keys.command("init")
@click.option("--key-file", type=click.Path(dir_okay=False), default=None, help=KEY_FILE_HELP)
@click.pass_context
def keys_init(ctx: click.Context, key_file: str | None) -> None:
    """Make a new signing key in a new file readable by its owner only (mode 0600)."""
    path = cp.init_key(key_file, url_of(ctx))
    info = cp.public_key_info(cp.load_key(path))
    click.echo(f"Made the signing key {path} (mode 0600; keep it out of backups you share).")
    click.echo(f"Key id {info['key_id']}, public key (Ed25519) {info['public_key']}")


@keys.command("public")
@click.option("--key-file", type=click.Path(dir_okay=False), default=None, help=KEY_FILE_HELP)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write it here.")
@click.pass_context
def keys_public(ctx: click.Context, key_file: str | None, out: str | None) -> None:
    """Print (or write) the public key as JSON, for inspectors and `verify --offline`."""
    text = json.dumps(cp.public_key_info(cp.load_key(key_file, url_of(ctx))), indent=2)
    if out is None:
        click.echo(text)
        return
    with writing(new_file(out, force=True)) as file:
        file.write((text + "\n").encode())
    click.echo(f"Wrote the public key to {out}.")


def _consistent_with(named: Any) -> str:
    """What an export says of the checkpoint it names."""
    if named is None:
        return "no checkpoint yet: run `ledger checkpoint` to make one"
    return (
        f"consistent with the checkpoint of {named.tree_size:,} events ({named.created_at}), "
        f"root {named.root_hash}"
    )


# -- checkpoints and verification --------------------------------------------------------------


@click.command()
@click.option("--key-file", type=click.Path(dir_okay=False), default=None, help=KEY_FILE_HELP)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write it here.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.pass_context
def checkpoint(ctx: click.Context, key_file: str | None, out: str | None, force: bool) -> None:
    """Sign the Merkle tree at the head of the log; keep the checkpoint and print it."""
    url = url_of(ctx)
    key = cp.load_key(key_file, url)
    target = new_file(out, force) if out is not None else None
    with open_ledger(url) as ledger:
        made = checkpoints.make(Projector(ledger), key)
    text = json.dumps(made.to_json(), indent=2, ensure_ascii=False)
    if target is not None:
        with writing(target) as file:
            file.write((text + "\n").encode())
        click.echo(f"Wrote the checkpoint of {made.tree_size:,} events to {out}.", err=True)
    click.echo(text)


def _public_key(public_key: str | None, key_file: str | None, url: str | None) -> bytes | None:
    """The key that checks signatures: ``--public-key`` (a file or the base64 itself), else
    the public half of the signing key if there is one here (the ledger at ``url``'s)."""
    if public_key is not None:
        given = Path(public_key)
        text = given.read_text(encoding="utf-8") if given.is_file() else public_key
        return cp.read_public_key(text)
    return cp.own_public_key(key_file, url)


def _report(result: Any, what: Message) -> None:
    for problem in result.problems:
        click.echo(problem.line())
    if not result.ok:
        first = result.first_bad_position
        where = (
            Message("; the first bad position is {first:,}", first=first)
            if first is not None
            else ""
        )
        raise CliError(
            Message(
                "{what}: {count} problem(s){where}",
                what=what,
                count=len(result.problems),
                where=where,
            )
        )
    click.echo(f"{what}: {result.checked:,} events verified; root {result.root_hash}.")


@click.command()
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A checkpoint file to check the log against (repeatable).",
)
@click.option(
    "--public-key",
    default=None,
    metavar="KEY",
    help="File (or base64) of the public key that signed the checkpoints "
    "(default: the public half of the signing key).",
)
@click.option(
    "--offline",
    "offline_log",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="LOG",
    help="Verify an exported log file instead of the database (needs no database).",
)
@click.option("--key-file", type=click.Path(dir_okay=False), default=None, help=KEY_FILE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
def verify(
    ctx: click.Context,
    checkpoint_files: tuple[str, ...],
    public_key: str | None,
    offline_log: str | None,
    key_file: str | None,
    as_json: bool,
) -> None:
    """Recompute every leaf of the log and check it against the stored tree and every
    checkpoint; name each problem and the first bad position; exit 1 on any problem."""
    if offline_log is not None and not checkpoint_files:
        raise CliError(
            Message("--offline needs at least one --checkpoint to check the log against")
        )
    given = [cp.read_file(path) for path in checkpoint_files]
    url = url_of(ctx) if offline_log is None or public_key is None else None
    key = _public_key(public_key, key_file, url)
    if offline_log is not None:
        if key is None:
            raise CliError(
                Message("--offline needs --public-key to check the checkpoints' signatures")
            )
        result = event_log.verify_file(offline_log, given, key)
        what = Message("{file} (offline)", file=offline_log)
    else:
        with open_ledger(url_of(ctx)) as ledger:
            result = verify_log(Projector(ledger), given, key)
        what = Message("the log")
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        if not result.ok:
            sys.exit(1)
        return
    _report(result, what)


# -- evidence as files: export and import -------------------------------------------------------


@click.group("export")
def export_group() -> None:
    """Evidence: the event log as JSONL, the audit trail as XLSX or CSV."""


@export_group.command("events")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="JSONL file to write.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.pass_context
def export_events(ctx: click.Context, out: str, force: bool) -> None:
    """Every stored event, one per line with its leaf hash, after a header naming the newest
    checkpoint the file is consistent with."""
    target = new_file(out, force)
    with open_ledger(url_of(ctx)) as ledger:
        upto = ledger.position()
        with ledger.engine.connect() as connection:
            named = checkpoints.latest(connection, upto)
        with writing(target) as file, progress_bars() as progress:
            result = event_log.export(
                ledger.engine,
                ledger.events_table,
                file,
                upto,
                named,
                lambda done, total: progress("export", done, total),
            )
    click.echo(
        f"Wrote {result.checked:,} events to {out}; root {result.root_hash}; "
        f"{_consistent_with(named)}."
    )


@export_group.command("audit-trail")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsx", "csv"]),
    default=None,
    help="xlsx or csv (default: from the suffix of --out).",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.option("--record-id", type=click.UUID, default=None, help="Only this record's events.")
@click.option("--actor", default=None, help="Only the events recorded by this user id.")
@click.option("--department", default=None, help="Only this department's events, e.g. STC.")
@click.option(
    "--event-type", default=None, help="Only this type, e.g. SupportApplication.Approved."
)
@click.option("--from", "from_", default=None, metavar="DATE", help="Effective on or after DATE.")
@click.option("--to", default=None, metavar="DATE", help="Effective on or before DATE.")
@click.option(
    "--order",
    type=click.Choice(["asc", "desc"]),
    default="asc",
    show_default=True,
    help="By position.",
)
@click.option("--no-catch-up", is_flag=True, help="Export the trail as it stands, unfolded.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.pass_context
def export_audit_trail(
    ctx: click.Context,
    fmt: str | None,
    out: str,
    record_id: UUID | None,
    actor: str | None,
    department: str | None,
    event_type: str | None,
    from_: str | None,
    to: str | None,
    order: str,
    no_catch_up: bool,
    force: bool,
) -> None:
    """The audit trail as XLSX or CSV (Vietnamese headers, money in đồng, dates dd/mm/yyyy),
    filtered like GET /api/reports/audit-trail, every page, naming the newest checkpoint it
    is consistent with. DATE is YYYY-MM-DD or dd/mm/yyyy. First folds the events the audit
    trail and the Merkle tree have not folded yet (unless --no-catch-up)."""
    # Imported here, not at the top: only this command needs the exports' module (it took
    # ~58 ms to import with openpyxl, its spreadsheet library until issue 16; XlsxWriter now).
    from projections import evidence

    target = Path(out)
    fmt = fmt or target.suffix.lower().removeprefix(".")
    if fmt not in evidence.FORMATS:
        raise CliError(
            Message(
                "cannot tell the format from the name {out}: pass --format xlsx or csv", out=out
            )
        )
    new_file(out, force)
    given = {
        "record_id": record_id,
        "actor": actor,
        "department": department,
        "event_type": event_type,
        "from": _cli_date(from_, "--from"),
        "to": _cli_date(to, "--to"),
        "order": order,
    }
    try:
        filters = evidence.AuditFilters.model_validate(given)
    except ValidationError as error:
        options = {field: "--" + field.replace("_", "-") for field in given}
        raise CliError(explain_validation(error, options)) from None
    with open_ledger(url_of(ctx)) as ledger, progress_bars() as progress:
        projector = Projector(ledger)
        if not no_catch_up:
            for name in (evidence.NAME, "merkle"):
                projector.catch_up(name, progress=progress)
        with writing(target) as file:
            done = evidence.export(
                projector,
                file,
                fmt,
                filters,
                progress=lambda rows, total: progress("export", rows, total),
            )
    click.echo(
        f"Wrote {done.rows:,} rows of the audit trail at position {done.position:,} to {out}; "
        f"{_consistent_with(done.checkpoint)}."
    )


def _cli_date(text: str | None, option: str) -> dt.date | None:
    if text is None or not text.strip():
        return None
    for parse in (dt.date.fromisoformat, lambda t: dt.datetime.strptime(t, "%d/%m/%Y").date()):
        try:
            return parse(text.strip())
        except ValueError:
            continue
    raise CliError(
        Message(
            "invalid {option}: {text!r} is not a date (YYYY-MM-DD or dd/mm/yyyy)",
            option=option,
            text=text,
        )
    )


@click.command("import")
@click.argument("log", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--checkpoint",
    "checkpoint_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The checkpoint every imported event must be covered by.",
)
@click.option(
    "--public-key",
    default=None,
    metavar="KEY",
    help="File (or base64) of the public key that signed the checkpoint.",
)
@click.pass_context
def import_log(ctx: click.Context, log: str, checkpoint_file: str, public_key: str | None) -> None:
    """Load an exported log into an empty database, checking every leaf and the root
    against the checkpoint first: all or nothing (PostgreSQL: COPY; SQLite: one
    transaction). Then build the read models from it in bulk (a rebuild)."""
    held = cp.read_file(checkpoint_file)
    key = _public_key(public_key, None, None) if public_key is not None else None
    with open_ledger(url_of(ctx)) as ledger, progress_bars() as progress:
        result = event_log.import_file(
            ledger.engine,
            ledger.events_table,
            log,
            held,
            key,
            lambda done, total: progress("import", done, total),
        )
        Projector(ledger).rebuild(progress=progress, workers=cores())
    signed = "signature checked" if key is not None else "signature not checked (no --public-key)"
    click.echo(
        f"Imported {result.checked:,} events; root {result.root_hash} equals the checkpoint's "
        f"({signed}); the read models are built."
    )
