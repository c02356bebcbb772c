"""`flask highhelp …`: sign, verify and ask HighHelp by hand while integrating."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from .gateway import current_settings, highhelp_client
from .highhelp import HighHelpError
from .highhelp.errors import BadPayload, BadSignature
from .highhelp.signing import parse_json_object, request_headers, verify_signed_body


@click.group("highhelp")
def highhelp_cli() -> None:
    """Sign requests, verify callbacks and query payins with the configured keys."""


def _read_body(path: str) -> tuple[bytes, dict]:
    raw = Path(path).read_bytes()
    try:
        return raw, parse_json_object(raw)
    except BadPayload as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


@highhelp_cli.command("sign")
@click.argument("body_file", metavar="BODY.json", type=click.Path(exists=True, dir_okay=False))
@click.option("--timestamp", help="Unix seconds to sign with; now by default.")
@with_appcontext
def sign_command(body_file: str, timestamp: str | None) -> None:
    """Print the headers the app would send with BODY.json, one `name: value` a line."""
    if timestamp is not None and not timestamp.isdigit():
        raise click.BadParameter("must be Unix seconds", param_hint="--timestamp")
    _, body = _read_body(body_file)
    settings = current_settings()
    stamp = timestamp or str(int(time.time()))
    for name, value in request_headers(settings.request_signer, settings.project_id, body, stamp).items():
        click.echo(f"{name}: {value}")


@highhelp_cli.command("verify-callback")
@click.argument("body_file", metavar="BODY.json", type=click.Path(exists=True, dir_okay=False))
@click.option("--signature", required=True, help="The x-access-signature header.")
@click.option("--timestamp", required=True, help="The x-access-timestamp header.")
@with_appcontext
def verify_callback_command(body_file: str, signature: str, timestamp: str) -> None:
    """Exit 0 when BODY.json carries a valid callback signature, 1 with the reason otherwise."""
    raw = Path(body_file).read_bytes()
    settings = current_settings()
    try:
        verify_signed_body(
            raw, signature, timestamp, settings.callback_verifier, tolerance=settings.callback_tolerance
        )
    except (BadSignature, BadPayload) as exc:
        click.echo(f"invalid: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo("valid: the signature matches the configured callback key")


@highhelp_cli.command("info")
@click.argument("payment_id")
@with_appcontext
def info_command(payment_id: str) -> None:
    """Print HighHelp's current answer about PAYMENT_ID as JSON."""
    client = highhelp_client()
    try:
        answer = client.payin_info(payment_id)
    except HighHelpError as exc:
        click.echo(f"{type(exc).__name__}: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(json.dumps(answer.model_dump(), ensure_ascii=False, indent=2))
