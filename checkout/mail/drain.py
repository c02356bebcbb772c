"""Sending what the outbox holds: claim, compose, send, record; one message at a time."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app

from ..extensions import db
from ..gateway import current_settings
from ..models import MailStatus, OutgoingMail
from ..sqltypes import utcnow
from .outbox import MAX_ATTEMPTS, Claim, claim_next, mark_failed, mark_sent, mask_email
from .receipt import compose_receipt
from .transport import SendFailed, ServerUnreachable, Transport, transport_for

log = logging.getLogger(__name__)

# Messages one drain sends at most, so a worker sweep also gets back to payments.
DRAIN_LIMIT = 100
MAIL_FOLDER = "mail"


@dataclass
class Drained:
    """What one drain did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent} email(s); {self.retrying} to retry, {self.failed} given up"


def mail_folder() -> Path:
    """Where messages go without SMTP_URL: instance/mail."""
    return Path(current_app.instance_path) / MAIL_FOLDER


def drain(now: datetime | None = None, limit: int = DRAIN_LIMIT) -> Drained:
    """Send the messages due at `now` (default: now); stops early while the server is down."""
    settings = current_settings()
    transport = transport_for(settings.smtp_server, mail_folder())
    done = Drained()
    for _ in range(limit):
        moment = now or utcnow()
        claim = claim_next(moment)
        if claim is None:
            break
        try:
            status = _send(claim, transport, settings.mail_from, moment)
        except ServerUnreachable:
            # The next messages would fail the same way; they wait for the next sweep, attempts intact.
            done.retrying += 1
            break
        finally:
            db.session.remove()
        if status is MailStatus.SENT:
            done.sent += 1
        elif status is MailStatus.PENDING:
            done.retrying += 1
        else:
            done.failed += 1
    if done.sent and settings.smtp_server is None and settings.is_production:
        log.warning("SMTP_URL is not set: %s email(s) written to %s, not sent", done.sent, mail_folder())
    return done


def _send(claim: Claim, transport: Transport, sender: str, now: datetime) -> MailStatus:
    """One claimed message: SENT, PENDING (to retry) or FAILED; re-raises ServerUnreachable once recorded."""
    if claim.attempt > MAX_ATTEMPTS:
        return mark_failed(claim, now, "a sender stopped during the last attempt", permanent=True)
    mail = db.session.get(OutgoingMail, claim.mail_id)
    assert mail is not None, "a claimed message exists"
    kind, recipient = mail.kind, mask_email(mail.recipient)
    # Whatever breaks in writing or handing over one message (a bug, missing data) is recorded on
    # it and retried; it never stops the worker's sweeps.
    try:
        message = compose_receipt(mail, sender)
    except Exception as exc:
        log.exception("mail %s could not be written", claim.mail_id)
        return mark_failed(claim, now, f"could not be written: {exc.__class__.__name__}", permanent=False)
    finally:
        db.session.commit()  # end the read before a slow server answers
    try:
        transport.send(message)
    except ServerUnreachable as exc:
        mark_failed(claim, now, str(exc), permanent=False)
        raise
    except SendFailed as exc:
        return mark_failed(claim, now, str(exc), permanent=exc.permanent)
    except Exception as exc:
        log.exception("mail %s could not be handed over", claim.mail_id)
        return mark_failed(claim, now, f"could not be sent: {exc.__class__.__name__}", permanent=False)
    if not mark_sent(claim, now):
        log.warning("mail %s sent after its claim expired: another sender may send it too", claim.mail_id)
    log.info("mail %s (%s) sent to %s", claim.mail_id, kind, recipient)
    return MailStatus.SENT
