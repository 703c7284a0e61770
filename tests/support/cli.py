"""The ``ledger`` command line run in-process (click's ``CliRunner``), and what a refusal
looks like on it."""

from __future__ import annotations

from click.testing import CliRunner, Result

from api.cli import cli


def run(url: str | None, *args: str, env: dict[str, str] | None = None) -> Result:
    options = ["--database-url", url] if url else []
    return CliRunner(env=env).invoke(cli, [*options, *args], prog_name="ledger")


def one_line_error(result: Result) -> str:
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]
