"""`flask shop load-demo`: fill the catalogue with the demo products."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from .catalog import load_demo_products


@click.group("shop")
def shop_cli() -> None:
    """Manage the shop's catalogue."""


@shop_cli.command("load-demo")
@with_appcontext
def load_demo_command() -> None:
    """Load the demo products (safe to run again: it updates them)."""
    click.echo(f"{load_demo_products()} demo products loaded")
