"""``ledger users``: grant, revoke, change and list access."""

from __future__ import annotations

from uuid import UUID

import click
from rich.table import Table
from rich.text import Text

from api.cli.database import open_ledger, url_of
from api.cli.terminal import console
from ledger import catalogue
from ledger import commands as c
from ledger.access import ROLE_NAMES_VI, SYSTEM


@click.group()
def users() -> None:
    """Grant, revoke, change and list access to the ledger."""


@users.command("add")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--role", required=True, help=f"One of: {', '.join(catalogue.ROLES)}.")
@click.option("--department", required=True, help="Department code, e.g. SKHCN, STC, QH-CAUGIAY.")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, department: str) -> None:
    """Create a user and print its token ALONE on the last line (shown once, kept as a hash)."""
    command = c.GrantAccess(name=name, role=role, department=department)
    with open_ledger(url_of(ctx)) as ledger:
        granted = ledger.grant_access(command, SYSTEM)
    body = catalogue.DEPARTMENTS[command.department].name_vi
    role_vi = ROLE_NAMES_VI.get(command.role, command.role)
    click.echo(
        f"Created user {command.name}: {command.role} ({role_vi}), {command.department} – {body}."
    )
    click.echo(f"User id: {granted.user_id}")
    click.echo("Token (shown only now; keep it safe):")
    click.echo(granted.token)


@users.command("revoke")
@click.argument("user_id", type=click.UUID)
@click.option("--reason", required=True, help="Why the access ends (kept in the record).")
@click.pass_context
def users_revoke(ctx: click.Context, user_id: UUID, reason: str) -> None:
    """Revoke a user's access: its token stops working at once."""
    command = c.RevokeAccess(user_id=user_id, reason=reason)
    with open_ledger(url_of(ctx)) as ledger:
        ledger.revoke_access(command, SYSTEM)
    click.echo(f"Revoked the access of user {user_id}; its token no longer works.")


@users.command("change")
@click.argument("user_id", type=click.UUID)
@click.option("--name", default=None, help="The person's new full name.")
@click.option("--department", default=None, help="The new department code, e.g. STC.")
@click.option("--reason", required=True, help="Why (kept in the record).")
@click.pass_context
def users_change(
    ctx: click.Context, user_id: UUID, name: str | None, department: str | None, reason: str
) -> None:
    """Rename a user or move them to another department. The events they recorded before keep
    the name and department in force then; their token keeps working."""
    command = c.ChangeUser(user_id=user_id, name=name, department=department, reason=reason)
    with open_ledger(url_of(ctx)) as ledger:
        ledger.change_user(command, SYSTEM)
        [person] = [u for u in ledger.list_users() if u["id"] == str(user_id)]
    body = catalogue.DEPARTMENTS[person["department"]].name_vi
    click.echo(
        f"User {user_id} is now {person['name']}, {person['department']} – {body}; "
        "the events recorded before keep the name and department of their time."
    )


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Show every user: id, name, role, department and whether the access is active."""
    with open_ledger(url_of(ctx)) as ledger:
        people = ledger.list_users()
    if not people:
        click.echo("No users yet: add one with `ledger users add`.")
        return
    table = Table(title=f"Users ({len(people)})")
    table.add_column("id", no_wrap=True)
    table.add_column("name")
    table.add_column("role")
    table.add_column("department")
    table.add_column("active")
    for person in people:
        table.add_row(
            *(Text(str(person[key])) for key in ("id", "name", "role", "department")),
            Text("yes" if person["active"] else "no"),
        )
    console().print(table)
