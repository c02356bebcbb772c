"""`flask merchant …`: staff accounts from the command line (the first owner comes from here)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..models import StaffRole
from . import accounts


@click.group("merchant")
def merchant_cli() -> None:
    """Manage the back office's staff accounts."""


@merchant_cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in StaffRole]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def create_user(email: str, role: str, password_stdin: bool) -> None:
    """Create a staff account, or update its role (and password with --password-stdin)."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        change = accounts.save(email, StaffRole(role), password)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "created" if change.created else "updated"
    click.echo(f"{change.staff.email}: {verb}, role {change.staff.role}")


@merchant_cli.command("list-users")
@with_appcontext
def list_users() -> None:
    """Every staff account with its role and whether it is enabled."""
    for staff in accounts.everyone():
        state = "enabled" if staff.active else "disabled"
        last = staff.last_sign_in_at.isoformat(timespec="seconds") if staff.last_sign_in_at else "never"
        click.echo(f"{staff.email}\t{staff.role}\t{state}\tlast sign-in {last}")


@merchant_cli.command("disable-user")
@click.argument("email")
@with_appcontext
def disable_user(email: str) -> None:
    """Disable a staff account; its open sessions end at their next request."""
    try:
        staff = accounts.disable(email)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{staff.email}: disabled")
