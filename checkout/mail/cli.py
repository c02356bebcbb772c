"""`flask mail send`: send the due messages of the outbox once (the worker does it every sweep)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..sqltypes import utcnow
from .drain import drain
from .outbox import requeue_failed


@click.group("mail")
def mail_cli() -> None:
    """Send the emails the outbox holds."""


@mail_cli.command("send")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="First put given-up messages back in the queue (after fixing SMTP_URL or MAIL_FROM, say).",
)
@with_appcontext
def send_command(retry_failed: bool) -> None:
    """Send every message that is due; failures wait for their next attempt."""
    if retry_failed:
        click.echo(f"{requeue_failed(utcnow())} given-up email(s) queued again")
    click.echo(str(drain()))
