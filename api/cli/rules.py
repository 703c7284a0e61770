"""``ledger rules``: the support rules (mức hỗ trợ) Sở Tài chính sets per support type."""

from __future__ import annotations

import datetime as dt
import json

import click
from rich.table import Table
from rich.text import Text

from api.cli.database import acting_for, open_ledger, token_option, url_of
from api.cli.terminal import console
from ledger import catalogue
from ledger import commands as c
from ledger.budget_line import format_vnd
from ledger.messages import Message


@click.group()
def rules() -> None:
    """List and add the support rules: the most the city budget pays per support type."""


@rules.command("list")
@click.option("--support-type", default=None, help="Only this support type, e.g. iso_9001.")
@click.option(
    "--on",
    "on",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Only the rule in force on this date (YYYY-MM-DD).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def rules_list(
    ctx: click.Context, support_type: str | None, on: dt.datetime | None, as_json: bool
) -> None:
    """Show the support rules, newest first (with --on, the one in force that day)."""
    if support_type is not None and support_type not in catalogue.SUPPORT_TYPES:
        raise click.BadParameter(
            Message("unknown support type {value!r}", value=support_type),
            param_hint="--support-type",
        )
    with open_ledger(url_of(ctx)) as ledger:
        found = ledger.get_support_rules(support_type, on.date() if on else None)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("No support rule: approvals have no cap. Add one with `ledger rules add`.")
        return
    table = Table(title=f"Support rules ({len(found)})")
    for column in ("support type", "from", "max share", "max amount", "legal basis"):
        table.add_column(column)
    for rule in found:
        basis = rule["legal_basis"]
        table.add_row(
            Text(rule["support_type"]),
            Text(dt.date.fromisoformat(rule["effective_from"]).strftime("%d/%m/%Y")),
            Text(f"{rule['max_share_percent']}%"),
            Text(format_vnd(rule["max_amount"])),
            Text(
                f"{basis['document_no']} "
                f"({dt.date.fromisoformat(basis['signed_on']).strftime('%d/%m/%Y')})"
            ),
        )
    console().print(table)


@rules.command("add")
@click.option("--support-type", required=True, help="The support type, e.g. iso_9001.")
@click.option("--max-share", "max_share", type=int, required=True, help="Percent of the cost.")
@click.option("--max-amount", type=int, required=True, help="In đồng.")
@click.option("--document", "document_no", required=True, help="The document that sets it.")
@click.option("--signed-on", required=True, help="Its date, YYYY-MM-DD.")
@click.option("--from", "effective_from", required=True, help="In force from, YYYY-MM-DD.")
@token_option
@click.pass_context
def rules_add(
    ctx: click.Context,
    support_type: str,
    max_share: int,
    max_amount: int,
    document_no: str,
    signed_on: str,
    effective_from: str,
    token: str | None,
) -> None:
    """Set a support rule from a date (finance); a later rule supersedes it from its own."""
    with open_ledger(url_of(ctx)) as ledger:
        actor = acting_for(ledger, token)
        command = c.AddSupportRule.model_validate(
            {
                "support_type": support_type,
                "max_share_percent": max_share,
                "max_amount": max_amount,
                "legal_basis": {"document_no": document_no, "signed_on": signed_on},
                "effective_from": effective_from,
            },
            strict=False,
        )
        written = ledger.add_support_rule(command, actor)
    click.echo(
        f"Support rule {written.id} for {command.support_type}: at most "
        f"{command.max_share_percent}% of the cost and {format_vnd(command.max_amount)}, "
        f"from {command.effective_from:%d/%m/%Y} (position {written.position})."
    )
