"""Asking HighHelp's /info about payments whose callbacks are late: for a polling page, and in sweeps.

However many browsers and reconcilers ask, one payment is asked about by one of them at a time,
and at most once per REFRESH_INTERVAL after that ask ends. The ask is claimed in the database and
committed before the network call, so no lock is held while HighHelp answers: the claim sets
`last_checked_at` CHECK_LEASE ahead (nobody else claims a check that is still going on), and the
end of the call sets it to when the answer came.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..database import begin_write, matched
from ..extensions import db
from ..gateway import highhelp_client
from ..highhelp import Busy, HighHelpError, Rejected
from ..highhelp.statuses import PayinState
from ..highhelp.wire import PayinInfoAnswer
from ..models import LAST_ERROR_LENGTH, EventKind, EventSource, Payment
from ..sqltypes import utcnow
from . import events
from .reports import record_report
from .states import Transition

log = logging.getLogger(__name__)

# A status that has not moved for this long may be refreshed from HighHelp's /info …
STALE_AFTER = timedelta(seconds=10)
# … but never more than once per payment in this interval, whoever asks: browsers polling and
# reconcilers alike.
REFRESH_INTERVAL = timedelta(seconds=5)
# How long a claimed check keeps others away if its process dies before the call ends. Well above
# the longest call the client lets through (connect + read timeouts, plus one read in progress);
# a live process ends the lease as soon as the answer comes.
CHECK_LEASE = timedelta(seconds=30)


def is_stale(payment: Payment, now: datetime) -> bool:
    """True when a live payment's status has not moved for a while, or its lifetime is over."""
    if not payment.is_open or payment.state is None:
        return False
    expired = payment.expires_at is not None and payment.expires_at <= now
    return expired or payment.state_changed_at <= now - STALE_AFTER


@dataclass(frozen=True)
class Asked:
    """What one /info call found: HighHelp's answer and what it did, or why there was none."""

    answer: PayinInfoAnswer | None = None
    transition: Transition | None = None
    error: HighHelpError | None = None


def refresh_if_stale(payment: Payment) -> bool:
    """Ask HighHelp about a stale payment, at most once per interval whoever asks; True if asked."""
    now = utcnow()
    if not is_stale(payment, now) or _checked_lately(payment, now, REFRESH_INTERVAL):
        return False
    if not _claim_check(payment, now, REFRESH_INTERVAL):
        return False
    ask_highhelp(payment, EventSource.CUSTOMER)
    return True


def _checked_lately(payment: Payment, now: datetime, interval: timedelta) -> bool:
    """True when the row as just read already fails the claim's condition: no UPDATE to find that out.

    Most polls of a stale payment come within the interval of the last check; the claim itself
    still decides for the others.
    """
    return payment.last_checked_at is not None and payment.last_checked_at > now - interval


def _claim_check(payment: Payment, now: datetime, interval: timedelta) -> bool:
    begin_write()
    claimed = matched(
        update(Payment)
        .where(
            Payment.id == payment.id,
            or_(Payment.last_checked_at.is_(None), Payment.last_checked_at <= now - interval),
        )
        .values(last_checked_at=now + CHECK_LEASE)
        .returning(Payment.id)
    )
    db.session.commit()
    return claimed


def ask_highhelp(payment: Payment, source: EventSource, staff_id: int | None = None) -> Asked:
    """Ask /info and apply the answer like a callback; the timeline records the read either way."""
    try:
        info = highhelp_client().payin_info(payment.payment_id)
    except Rejected as exc:
        _close_if_never_created(payment, exc, source, staff_id)
        return Asked(error=exc)
    except Busy as exc:
        # Nothing was sent: other calls hold every slot; the next poll or sweep asks again.
        begin_write()
        _end_check(payment)
        db.session.commit()
        return Asked(error=exc)
    except HighHelpError as exc:
        log.warning("payment %s: /info failed: %s", payment.payment_id, exc)
        begin_write()
        _end_check(payment)
        _record_read(payment, source, staff_id, f"/info failed: {exc}")
        db.session.commit()
        return Asked(error=exc)
    begin_write()
    _end_check(payment)
    db.session.refresh(payment)
    reported = PayinState(info.status, info.sub_status)
    transition = record_report(payment, reported, info.payment_info, info.status_description)
    summary = f"/info says {reported.key}: {transition.outcome}"
    _record_read(payment, source, staff_id, summary, {"state": reported.key, "outcome": transition.outcome})
    db.session.commit()
    return Asked(answer=info, transition=transition)


def _end_check(payment: Payment) -> None:
    """The call is over: the next check may come REFRESH_INTERVAL after now, not after the lease."""
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id)
        .values(last_checked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _record_read(
    payment: Payment,
    source: EventSource,
    staff_id: int | None,
    summary: str,
    found: dict[str, str] | None = None,
) -> None:
    data = {**events.exchange_record(), **(found or {})}
    events.record(EventKind.INFO_READ, source, summary, payment=payment, staff_id=staff_id, data=data)


def _close_if_never_created(
    payment: Payment, refusal: Rejected, source: EventSource, staff_id: int | None
) -> None:
    # HighHelp does not know a payin we never managed to create: once its lifetime is surely
    # over, free the order for a new attempt.
    too_old = payment.created_at <= utcnow() - payment.lifetime - STALE_AFTER
    begin_write()
    _end_check(payment)
    if payment.state is None and refusal.http_status == 404 and too_old:
        reason = f"not created: {refusal.status_description}"
        db.session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.state.is_(None), Payment.is_open.is_(True))
            .values(is_open=False, last_error=reason[:LAST_ERROR_LENGTH])
        )
        _record_read(payment, source, staff_id, f"/info refused, attempt closed: {reason}")
    else:
        log.warning("payment %s: /info refused: %s", payment.payment_id, refusal.status_description)
        _record_read(payment, source, staff_id, f"/info refused: {refusal.status_description}")
    db.session.commit()


def reconcile(older_than: timedelta, limit: int = 200) -> int:
    """Ask HighHelp about every open attempt quiet for `older_than` or past its lifetime; how many."""
    asked = 0
    started = utcnow()
    while asked < limit:
        payment = _claim_for_reconcile(older_than, started)
        if payment is None:
            break
        if payment.state is None and payment.form_url is None and not _older_than(payment, older_than):
            # Its create may still be on its way; the claim keeps it out of this sweep.
            begin_write()
            _end_check(payment)
            db.session.commit()
            continue
        try:
            ask_highhelp(payment, EventSource.RECONCILER)
            db.session.commit()
        except SQLAlchemyError:
            # One payment the database will not take must not stop the sweep for every other.
            log.exception("payment %s: the answer from /info could not be stored", payment.payment_id)
            db.session.rollback()
        asked += 1
    return asked


def _claim_for_reconcile(older_than: timedelta, started: datetime) -> Payment | None:
    """Take the next open attempt due for a check, and commit the claim before any network call.

    The claim is `last_checked_at`: a payment checked in this sweep or in the last
    REFRESH_INTERVAL (by another reconciler or a polling browser) is skipped. FOR UPDATE SKIP
    LOCKED keeps two PostgreSQL workers from claiming one row at the same instant; SQLite's
    BEGIN IMMEDIATE serializes the claims instead. No lock is held while HighHelp answers, so
    a stalled /info never holds up a callback for the same payment.
    """
    now = utcnow()
    checked_before = min(started, now - REFRESH_INTERVAL)
    begin_write()
    payment = db.session.execute(
        select(Payment)
        .where(
            Payment.is_open.is_(True),
            or_(
                Payment.state_changed_at <= now - older_than,
                Payment.expires_at <= now,
                Payment.state.is_(None),
            ),
            or_(Payment.last_checked_at.is_(None), Payment.last_checked_at < checked_before),
        )
        # Never asked first, then the longest unasked: when more are due than a sweep's limit (after
        # an outage), the next sweep goes on where this one stopped instead of asking the same again.
        .order_by(Payment.last_checked_at.asc().nulls_first(), Payment.state_changed_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar()
    if payment is None:
        db.session.rollback()
        return None
    payment.last_checked_at = now + CHECK_LEASE
    db.session.commit()
    return payment


def _older_than(payment: Payment, age: timedelta) -> bool:
    return payment.created_at <= utcnow() - age
