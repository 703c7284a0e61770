"""``ledger serve``: the HTTP API and the dashboard, with the projections kept live.

The address is checked first (:func:`check_port`): a port something already listens on is
one line naming it and how to choose another, before the database is touched. ``make
demo`` asks for that check alone (``--check-port``) before it loads anything.

``--workers N`` (default: one per core) runs N HTTP worker processes under uvicorn's
process manager, the live follower and the replay-snapshot maker in the manager's process
alone (``api/serving.py``); ``--workers 1`` runs everything in one process, the app's
lifespan running the background work (``api/app.py``).
"""

from __future__ import annotations

import errno
import socket

import click

from api.cli.database import check_settings, require_migrated, url_of
from api.cli.errors import CliError
from ledger.messages import Message
from ledger.service import Ledger
from projections.parallel import cores


def default_workers() -> int:
    """One HTTP worker per core this process may run on."""
    return cores()


def check_port(host: str, port: int) -> None:
    """Refuse, in one line, an address this machine cannot listen on now: a port taken by
    another server, or a host that is not one of its addresses. Bound as uvicorn binds
    (``SO_REUSEADDR``: a port left in TIME_WAIT by a server just stopped is free)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise CliError(
            Message(
                "cannot listen on {host}: {reason} (see --host)", host=host, reason=error.strerror
            )
        ) from None
    family, kind, protocol, _, address = found[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CliError(
                    Message(
                        "port {port} of {host} is taken (another server listens there): choose "
                        "another with --port (make demo PORT=…, make serve PORT=…)",
                        port=port,
                        host=host,
                    )
                ) from None
            raise CliError(
                Message(
                    "cannot listen on {host}:{port}: {reason}",
                    host=host,
                    port=port,
                    reason=error.strerror,
                )
            ) from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="How much the server logs.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    show_default=f"one per core, here {default_workers()}",
    help="HTTP worker processes; 1: one process serves and keeps the projections live.",
)
@click.option(
    "--check-port",
    "port_only",
    is_flag=True,
    help="Only check that HOST:PORT is free to listen on (one line and exit 1 if not); "
    "touch no database, serve nothing.",
)
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, log_level: str, workers: int | None, port_only: bool
) -> None:
    """Serve the HTTP API and the dashboard (uvicorn), on every core."""
    check_port(host, port)
    if port_only:
        return
    url = url_of(ctx)
    check_settings()
    require_migrated(url)
    # Imported here, not at the top: the HTTP app (Starlette, the reports, the spreadsheet
    # library) and uvicorn take ~120-135 ms to import, measured after the rest of the command
    # line (~15% of `ledger --help`), which every other command would pay for nothing.
    try:
        from api.app import create_app
    except ModuleNotFoundError as error:
        if error.name not in ("api.app", "api"):
            raise
        raise CliError(
            Message("the HTTP API (api/app.py) is not part of this installation")
        ) from None
    workers = workers or default_workers()
    if workers > 1:
        from api import serving

        serving.serve(url, host, port, log_level, workers)
        return
    import uvicorn

    ledger = Ledger(url)
    try:
        uvicorn.run(create_app(ledger, follow=True), host=host, port=port, log_level=log_level)
    finally:
        ledger.engine.dispose()
