"""Payment use cases, one transaction each: start a payin, apply what HighHelp reports, refresh, reconcile.

Correctness rests on database constraints and compare-and-set, not on row locks: one open attempt
per order (a partial unique index), one inbox row per alert key, and every payment update
conditioned on the version it read.
"""

from __future__ import annotations

import enum
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..database import begin_write
from ..extensions import db
from ..gateway import current_settings, highhelp_client
from ..highhelp import (
    BadPayload,
    Busy,
    HighHelpError,
    InvalidRequest,
    Rejected,
    Unavailable,
    assumed,
    statuses,
)
from ..highhelp.statuses import PayinState
from ..highhelp.wire import WIDGET_METHOD_MOBILE, Callback, CreatePayinRequest, PaymentInfo
from ..models import CallbackAlert, Order, OrderStatus, Payment
from ..sqltypes import utcnow
from .alerts import AlertKind, Verdict
from .states import Outcome, Transition, apply_report

log = logging.getLogger(__name__)

# A status that has not moved for this long may be refreshed from HighHelp's /info …
STALE_AFTER = timedelta(seconds=10)
# … but never more than once per payment in this interval, whoever asks: browsers polling and
# reconcilers alike.
REFRESH_INTERVAL = timedelta(seconds=5)
# Compare-and-set retries before giving up on a very busy row.
CAS_ATTEMPTS = 10


@dataclass(frozen=True)
class Customer:
    """What the checkout knows about the person paying."""

    id: str
    ip_address: str | None
    language: str
    email: str | None


class StartError(enum.StrEnum):
    """Why the payer cannot go to HighHelp's page yet."""

    UNAVAILABLE = "unavailable"  # HighHelp unreachable, slow or failing: try again
    BUSY = "busy"  # this process already waits on as many HighHelp calls as it allows: try again
    REFUSED = "refused"  # HighHelp (or our own check) said no


@dataclass(frozen=True)
class StartResult:
    """Where the payer goes next, or why they cannot go yet."""

    payment: Payment | None
    form_url: str | None = None
    error: StartError | None = None


def latest_attempt(order: Order) -> Payment | None:
    """The order's newest payment attempt."""
    return order.payments[-1] if order.payments else None


def open_attempt(order_id: int) -> Payment | None:
    """The order's attempt that is not final yet, if any."""
    query = select(Payment).where(Payment.order_id == order_id, Payment.is_open.is_(True))
    return db.session.execute(query).scalar()


def new_payment_id(order: Order) -> str:
    """Our id for one attempt: readable, and unique even if a database is reset."""
    return f"KZ{order.id:06d}-{len(order.payments) + 1}-{secrets.token_hex(3)}"


def create_request_body(
    order: Order, payment_id: str, customer: Customer, urls: dict[str, str]
) -> dict[str, Any]:
    """The create request for one attempt, checked against every protocol limit."""
    settings = current_settings()
    customer_part: dict[str, Any] = {"id": customer.id, "country": "KZ", "language": order.language}
    if customer.ip_address:
        customer_part["ip_address"] = customer.ip_address
    if order.email:
        customer_part["email"] = order.email
    body = {
        "general": {"project_id": settings.project_id, "payment_id": payment_id, **urls},
        "payment": {
            "amount": order.amount,
            "currency": order.currency,
            "lifetime": settings.payment_lifetime,
            "description": order.description[:255],
            "widget_method": WIDGET_METHOD_MOBILE,
        },
        "customer": customer_part,
    }
    return CreatePayinRequest.build(body).body()


def start_payment(order: Order, customer: Customer, urls: dict[str, str]) -> StartResult:
    """Store the attempt, then create it at HighHelp; a repeat click reuses the stored one."""
    if order.is_paid:
        return StartResult(latest_attempt(order))
    payment = open_attempt(order.id)
    if payment is None:
        try:
            payment_id = new_payment_id(order)
            body = create_request_body(order, payment_id, customer, urls)
        except InvalidRequest as exc:
            log.error("order %s: create request is invalid: %s", order.id, exc)
            return StartResult(None, error=StartError.REFUSED)
        payment = Payment(
            payment_id=payment_id,
            order=order,
            amount=order.amount,
            currency=order.currency,
            request_body=body,
        )
        db.session.add(payment)
        try:
            db.session.commit()
        except IntegrityError:
            # Another click got there first: use its attempt.
            db.session.rollback()
            payment = open_attempt(order.id)
            if payment is None:
                raise
    if payment.form_url:
        return StartResult(payment, payment.form_url)
    return _create_at_highhelp(payment)


def _create_at_highhelp(payment: Payment) -> StartResult:
    request = CreatePayinRequest.build(payment.request_body)
    try:
        answer = highhelp_client().create_payin(request)
    except Busy as exc:
        # Nothing was sent; the stored attempt and its payment_id wait for the next press.
        return _keep_for_retry(payment, f"Busy: {exc}", StartError.BUSY)
    except (Unavailable, BadPayload) as exc:
        # The payin may or may not exist; retrying with the same payment_id is safe.
        return _keep_for_retry(payment, f"{type(exc).__name__}: {exc}", StartError.UNAVAILABLE)
    except Rejected as exc:
        return _keep_for_retry(payment, f"Rejected: {exc.status_description}", StartError.REFUSED)
    lifetime = int(payment.request_body["payment"].get("lifetime", 600))
    now = utcnow()
    begin_write()
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id)
        .values(
            request_id=answer.request_id,
            form_url=answer.integration.form_url,
            expires_at=now + timedelta(seconds=lifetime),
            last_error=None,
        )
    )
    # A callback may already have moved the payment on; only fill in a state nobody set.
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.state.is_(None))
        .values(
            state=PayinState(answer.status, answer.sub_status).key,
            state_changed_at=now,
            version=Payment.version + 1,
        )
    )
    db.session.commit()
    db.session.refresh(payment)
    return StartResult(payment, payment.form_url)


def _keep_for_retry(payment: Payment, reason: str, error: StartError) -> StartResult:
    log.warning("payment %s not created: %s", payment.payment_id, reason)
    begin_write()
    db.session.execute(update(Payment).where(Payment.id == payment.id).values(last_error=reason[:1024]))
    db.session.commit()
    db.session.refresh(payment)
    return StartResult(payment, error=error)


def amount_problem(payment: Payment, info: PaymentInfo | None) -> str | None:
    """Why HighHelp's amounts do not match what was ordered; None when they do."""
    if info is None:
        return None
    if info.currency != payment.currency:
        return f"currency {info.currency} instead of {payment.currency}"
    if info.amount != payment.amount:
        return f"amount {info.amount} instead of {payment.amount}"
    if info.old_amount is not None and info.old_amount != info.amount:
        return f"HighHelp changed the amount from {info.old_amount} to {info.amount}"
    return None


def record_report(
    payment: Payment, reported: PayinState, info: PaymentInfo | None, description: str | None
) -> Transition:
    """Apply one report from HighHelp to a payment inside the caller's write transaction."""
    for _ in range(CAS_ATTEMPTS):
        current = PayinState.from_key(payment.state) if payment.state else statuses.NEW
        transition = apply_report(current, reported)
        values = _changes(payment, current, transition, reported, info, description)
        if not values:
            return transition
        won = _updated(
            update(Payment)
            .where(Payment.id == payment.id, Payment.version == payment.version)
            .values(version=payment.version + 1, **values)
            .returning(Payment.id)
        )
        db.session.refresh(payment)
        if won:
            if transition.changed and transition.state == statuses.SUCCESS:
                _mark_order_paid(payment)
            return transition
    raise RuntimeError(f"payment {payment.payment_id} kept changing; giving up this report")


def _updated(statement: Update) -> bool:
    """Run a conditional UPDATE … RETURNING; True when it matched a row.

    What the database returns is the same on SQLite and PostgreSQL; rowcount is not always.
    """
    returned = db.session.execute(statement.execution_options(synchronize_session=False)).first()
    return returned is not None


def _changes(
    payment: Payment,
    current: PayinState,
    transition: Transition,
    reported: PayinState,
    info: PaymentInfo | None,
    description: str | None,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if transition.changed:
        values["state"] = transition.state.key
        values["state_changed_at"] = utcnow()
        values["status_description"] = (
            description[: assumed.DESCRIPTION_STORED_LENGTH] if description else None
        )
        if transition.state.is_final:
            values["is_open"] = False
        if transition.state == statuses.DECLINE:
            values["decline_step"] = current.key
    problem = amount_problem(payment, info)
    if transition.outcome is Outcome.CONFLICT:
        problem = f"HighHelp reported {reported.key} after {current.key}"
    if problem and payment.review_reason != problem:
        values.update(needs_review=True, review_reason=problem[:255])
    return values


def _mark_order_paid(payment: Payment) -> None:
    if payment.needs_review:
        log.warning("payment %s succeeded but needs review: %s", payment.payment_id, payment.review_reason)
        return
    paid_now = _updated(
        update(Order)
        .where(Order.id == payment.order_id, Order.status == OrderStatus.OPEN)
        .values(status=OrderStatus.PAID, paid_at=utcnow())
        .returning(Order.id)
    )
    if not paid_now:
        # The order was already paid by another attempt: money came twice, a person must refund.
        db.session.execute(
            update(Payment)
            .where(Payment.id == payment.id)
            .values(needs_review=True, review_reason="order was already paid by another payment")
        )
    db.session.expire(payment.order)


def apply_callback(kind: AlertKind, callback: Callback, body: dict[str, Any]) -> Verdict:
    """Record a verified alert once, apply it, and say what happened; commits before returning."""
    begin_write()
    reported = PayinState(callback.status.status, callback.status.sub_status)
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    # RETURNING says whether this call inserted the row: rowcount cannot (psycopg 3 reports -1
    # for INSERT … ON CONFLICT DO NOTHING whether a row went in or not).
    alert_id = db.session.execute(
        insert(CallbackAlert)
        .values(
            idempotency_key=callback.idempotency_key,
            payment_id=callback.general.payment_id,
            kind=kind,
            state=reported.key,
            verdict=Verdict.RECEIVED,
            body=body,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(CallbackAlert.id)
    ).scalar()
    if alert_id is None:
        db.session.rollback()
        return Verdict.DUPLICATE
    payment = db.session.execute(
        select(Payment).where(Payment.payment_id == callback.general.payment_id)
    ).scalar()
    detail: str | None
    if payment is None or callback.project_id != current_settings().project_id:
        verdict, detail = Verdict.ORPHAN, "no payment with this payment_id in this cash register"
    else:
        transition = record_report(
            payment, reported, callback.payment_info, callback.status.status_description
        )
        verdict = Verdict(transition.outcome)
        detail = payment.review_reason if payment.needs_review else None
    db.session.execute(
        update(CallbackAlert).where(CallbackAlert.id == alert_id).values(verdict=verdict, detail=detail)
    )
    db.session.commit()
    return verdict


def is_stale(payment: Payment, now: datetime) -> bool:
    """True when a live payment's status has not moved for a while, or its lifetime is over."""
    if not payment.is_open or payment.state is None:
        return False
    expired = payment.expires_at is not None and payment.expires_at <= now
    return expired or payment.state_changed_at <= now - STALE_AFTER


def refresh_if_stale(payment: Payment) -> bool:
    """Ask HighHelp about a stale payment, at most once per interval whoever asks; True if asked."""
    now = utcnow()
    if not is_stale(payment, now) or not _claim_check(payment, now, REFRESH_INTERVAL):
        return False
    _ask_highhelp(payment)
    return True


def _claim_check(payment: Payment, now: datetime, interval: timedelta) -> bool:
    begin_write()
    claimed = _updated(
        update(Payment)
        .where(
            Payment.id == payment.id,
            or_(Payment.last_checked_at.is_(None), Payment.last_checked_at <= now - interval),
        )
        .values(last_checked_at=now)
        .returning(Payment.id)
    )
    db.session.commit()
    return claimed


def _ask_highhelp(payment: Payment) -> None:
    """Ask /info and apply the answer like a callback; on PostgreSQL the reconciler holds the row."""
    try:
        info = highhelp_client().payin_info(payment.payment_id)
    except Rejected as exc:
        _close_if_never_created(payment, exc)
        return
    except Busy:
        # Other calls hold every slot; the next poll or sweep asks again.
        return
    except HighHelpError as exc:
        log.warning("payment %s: /info failed: %s", payment.payment_id, exc)
        return
    begin_write()
    db.session.refresh(payment)
    record_report(
        payment, PayinState(info.status, info.sub_status), info.payment_info, info.status_description
    )
    db.session.commit()


def _close_if_never_created(payment: Payment, refusal: Rejected) -> None:
    # HighHelp does not know a payin we never managed to create: once its lifetime is surely
    # over, free the order for a new attempt.
    lifetime = timedelta(seconds=int(payment.request_body.get("payment", {}).get("lifetime", 600)))
    too_old = payment.created_at <= utcnow() - lifetime - STALE_AFTER
    if payment.state is None and refusal.http_status == 404 and too_old:
        begin_write()
        db.session.execute(
            update(Payment)
            .where(Payment.id == payment.id, Payment.state.is_(None), Payment.is_open.is_(True))
            .values(is_open=False, last_error=f"not created: {refusal.status_description}"[:1024])
        )
        db.session.commit()
    else:
        log.warning("payment %s: /info refused: %s", payment.payment_id, refusal.status_description)


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
            continue
        try:
            _ask_highhelp(payment)
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
        .order_by(Payment.state_changed_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar()
    if payment is None:
        db.session.rollback()
        return None
    payment.last_checked_at = now
    db.session.commit()
    return payment


def _older_than(payment: Payment, age: timedelta) -> bool:
    return payment.created_at <= utcnow() - age
