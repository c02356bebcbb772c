"""The outgoing-mail table: queue a message in the caller's transaction, claim it, record the result.

Every claim is committed before anything is sent, so no lock is held while a mail server answers,
and two senders never hold the same message: `FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN
IMMEDIATE` on SQLite, and a conditional UPDATE on both.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..database import begin_write, matched
from ..extensions import db
from ..models import LAST_ERROR_LENGTH, MailKind, MailStatus, Order, OutgoingMail
from ..sqltypes import utcnow

log = logging.getLogger(__name__)

# Attempts before a message is given up and left for a person (log ERROR, status failed).
MAX_ATTEMPTS = 10
# The wait after the first failed attempt, doubled after each further one, up to BACKOFF_CAP:
# 1, 2, 4, 8, 16, 32, 60, 60, 60 minutes, so about four hours from the first try to giving up.
FIRST_BACKOFF = timedelta(minutes=1)
BACKOFF_CAP = timedelta(minutes=60)
# How long a claim keeps other senders off a message: far longer than one SMTP conversation
# (SMTP_TIMEOUT per step); a sender that died mid-send leaves it to be tried again after this.
CLAIM_LEASE = timedelta(minutes=5)
EMAIL = re.compile(r"([^\s<>@:;,\"']+)@([^\s<>@:;,\"']+)")


def mask_email(text: str) -> str:
    """Every address in `text` as `c***@example.kz`: enough to tell which, not enough to reuse."""
    return EMAIL.sub(lambda match: f"{match.group(1)[:1]}***@{match.group(2)}", text)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return min(FIRST_BACKOFF * (1 << min(max(0, attempts - 1), 16)), BACKOFF_CAP)


def enqueue_receipt(order_id: int, payment_ref: int) -> bool:
    """Queue the receipt of a just-paid order in the caller's transaction; False when there is none.

    An order without an email gets none; an order that has one already keeps it (the unique
    index on order and kind makes a second row impossible, whoever races to insert it).
    """
    email = db.session.execute(select(Order.email).where(Order.id == order_id)).scalar_one()
    if not email:
        return False
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    inserted = db.session.execute(
        insert(OutgoingMail)
        .values(
            kind=MailKind.RECEIPT,
            order_id=order_id,
            payment_ref=payment_ref,
            recipient=email,
            status=MailStatus.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["order_id", "kind"])
        .returning(OutgoingMail.id)
    ).scalar()
    return inserted is not None


@dataclass(frozen=True)
class Claim:
    """A message one sender holds: its id and the attempt number that proves the claim is its own."""

    mail_id: int
    attempt: int


def claim_next(now: datetime) -> Claim | None:
    """Take the oldest due message for this sender, committed; None when nothing is due."""
    begin_write()
    candidate = db.session.execute(
        select(OutgoingMail.id, OutgoingMail.attempts)
        .where(
            OutgoingMail.status == MailStatus.PENDING,
            OutgoingMail.next_attempt_at <= now,
        )
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    claim = None
    if candidate is not None:
        mail_id, attempts = candidate
        # Conditional on what was read: on any database, only one sender's UPDATE matches.
        won = matched(
            update(OutgoingMail)
            .where(
                OutgoingMail.id == mail_id,
                OutgoingMail.status == MailStatus.PENDING,
                OutgoingMail.attempts == attempts,
            )
            .values(attempts=attempts + 1, next_attempt_at=now + CLAIM_LEASE)
            .returning(OutgoingMail.id)
        )
        claim = Claim(mail_id, attempts + 1) if won else None
    db.session.commit()
    return claim


def _settle(claim: Claim, **values: object) -> bool:
    begin_write()
    settled = matched(
        update(OutgoingMail)
        .where(
            OutgoingMail.id == claim.mail_id,
            OutgoingMail.status == MailStatus.PENDING,
            OutgoingMail.attempts == claim.attempt,
        )
        .values(**values)
        .returning(OutgoingMail.id)
    )
    db.session.commit()
    return settled


def mark_sent(claim: Claim, now: datetime) -> bool:
    """The server accepted it: never sent again. False when the claim was lost to another sender."""
    return _settle(claim, status=MailStatus.SENT, sent_at=now, last_error=None)


def mark_failed(claim: Claim, now: datetime, error: str, permanent: bool) -> MailStatus:
    """Record a failed attempt: try again after the backoff, or give up; the status it is left in."""
    error = mask_email(error)[:LAST_ERROR_LENGTH]
    if permanent or claim.attempt >= MAX_ATTEMPTS:
        _settle(claim, status=MailStatus.FAILED, last_error=error)
        why = "refused for good" if permanent else f"failed {claim.attempt} times"
        log.error("mail %s given up (%s): %s", claim.mail_id, why, error)
        return MailStatus.FAILED
    _settle(claim, next_attempt_at=now + backoff(claim.attempt), last_error=error)
    log.warning(
        "mail %s attempt %s of %s failed, next in %s: %s",
        claim.mail_id,
        claim.attempt,
        MAX_ATTEMPTS,
        backoff(claim.attempt),
        error,
    )
    return MailStatus.PENDING


def requeue_failed(now: datetime) -> int:
    """Put every given-up message back in the queue with fresh attempts (once the cause is fixed)."""
    begin_write()
    requeued = db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.status == MailStatus.FAILED)
        .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=now)
        .returning(OutgoingMail.id)
    ).all()
    db.session.commit()
    return len(requeued)
