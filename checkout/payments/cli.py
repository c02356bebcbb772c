"""`flask payments reconcile`: settle attempts whose callbacks never came, by asking HighHelp.

Each sweep also sends the outbox's due emails, so the Procfile's one worker does both.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from types import FrameType

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..gateway import current_settings
from ..mail.drain import drain
from ..metrics import SweepResult, count_sweep
from .refresh import reconcile

log = logging.getLogger(__name__)


@click.group("payments")
def payments_cli() -> None:
    """Work on payment attempts."""


@payments_cli.command("reconcile")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(0, 86400),
    default=None,
    help="Ask about open attempts quiet this many seconds or past their lifetime; default RECONCILE_AFTER.",
)
@click.option("--loop", is_flag=True, help="Keep sweeping until stopped (the Procfile worker).")
@click.option(
    "--interval", type=click.IntRange(1, 3600), default=15, show_default=True, help="Seconds between sweeps."
)
@with_appcontext
def reconcile_command(older_than: int | None, loop: bool, interval: int) -> None:
    """Ask HighHelp's /info about open attempts and apply the answers like callbacks."""
    quiet = timedelta(seconds=current_settings().reconcile_after if older_than is None else older_than)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if loop:
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    while True:
        try:
            asked = reconcile(quiet)
        except Exception:
            count_sweep(SweepResult.FAILED)
            raise
        count_sweep(SweepResult.OK, asked)
        db.session.remove()
        click.echo(f"asked HighHelp about {asked} payment(s)")
        _send_mail()
        if not loop or stop.wait(interval):
            break


def _send_mail() -> None:
    """Send the due emails; whatever goes wrong there, the sweeps over payments go on."""
    try:
        click.echo(f"mail: {drain()}")
    except Exception:
        log.exception("sending mail failed; the next sweep tries again")
    finally:
        db.session.remove()
