"""``ledger serve``: the HTTP API and the dashboard, with the projections kept live."""

from __future__ import annotations

import click

from api.cli.database import check_settings, require_migrated, url_of
from api.cli.errors import CliError
from ledger.service import Ledger


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
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, log_level: str) -> None:
    """Serve the HTTP API and the dashboard (uvicorn)."""
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
        raise CliError("the HTTP API (api/app.py) is not part of this installation") from None
    import uvicorn

    ledger = Ledger(url)
    try:
        uvicorn.run(create_app(ledger, follow=True), host=host, port=port, log_level=log_level)
    finally:
        ledger.engine.dispose()
