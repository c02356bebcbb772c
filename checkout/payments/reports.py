"""Applying what HighHelp reports (a callback or an /info answer) to a payment, exactly once.

Correctness rests on database constraints and compare-and-set, not on row locks: one inbox row per
alert key, and every payment update conditioned on the version it read.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..database import begin_write, matched
from ..extensions import db
from ..gateway import current_settings
from ..highhelp import assumed, statuses
from ..highhelp.statuses import PayinState
from ..highhelp.wire import Callback, PaymentInfo
from ..mail.outbox import enqueue_receipt
from ..metrics import count_transition
from ..models import CallbackAlert, EventKind, EventSource, Order, OrderStatus, Payment
from ..sqltypes import utcnow
from . import events
from .alerts import AlertKind, Verdict
from .phases import phase_of
from .states import Outcome, Transition, apply_report

log = logging.getLogger(__name__)

# Compare-and-set retries before giving up on a very busy row.
CAS_ATTEMPTS = 10


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
        if values:
            won = matched(
                update(Payment)
                .where(Payment.id == payment.id, Payment.version == payment.version)
                .values(version=payment.version + 1, **values)
                .returning(Payment.id)
            )
            db.session.refresh(payment)
            if not won:
                continue
        if transition.state == statuses.SUCCESS and transition.changed:
            _mark_order_paid(payment, info)
        elif (
            transition.state == statuses.SUCCESS
            and transition.outcome is Outcome.UNCHANGED
            and info is not None
            and not _order_is_paid(payment)
        ):
            # A success recorded without HighHelp's amounts (a confirm's answer) pays the order
            # when a later report brings them.
            _mark_order_paid(payment, info)
        count_transition(transition.outcome, phase_of(payment, _order_is_paid(payment)))
        return transition
    raise RuntimeError(f"payment {payment.payment_id} kept changing; giving up this report")


def _order_is_paid(payment: Payment) -> bool:
    status = db.session.execute(select(Order.status).where(Order.id == payment.order_id)).scalar_one()
    return bool(status == OrderStatus.PAID)


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


def _mark_order_paid(payment: Payment, info: PaymentInfo | None) -> None:
    if info is None:
        # Only a report with HighHelp's amounts pays an order (a confirm's answer has none).
        log.info("payment %s succeeded; the order is paid when HighHelp's amounts arrive", payment.payment_id)
        return
    # The success's own amounts count, not only the flag: a person may have cleared an earlier flag
    # for the same mismatch while the payin was still open.
    problem = amount_problem(payment, info)
    if payment.needs_review or problem:
        log.warning(
            "payment %s succeeded but needs review: %s", payment.payment_id, problem or payment.review_reason
        )
        if problem and not payment.needs_review:
            db.session.execute(
                update(Payment)
                .where(Payment.id == payment.id)
                .values(needs_review=True, review_reason=problem[:255])
            )
        return
    paid_now = matched(
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
    else:
        # In the transaction that marks it paid, and only there: one receipt, never lost, never sent
        # from this request (the worker sends it).
        enqueue_receipt(payment.order_id, payment.id)
    db.session.expire(payment.order)


def already_recorded(idempotency_key: str) -> bool:
    """True when the inbox holds this alert, committed: it was recorded and applied then.

    On PostgreSQL it is read outside any transaction (one round trip, no BEGIN or ROLLBACK), as
    HighHelp's repeats are much of what arrives; SQLite keeps its own BEGIN handling (sqlite.py).
    False proves nothing: the insert in apply_callback decides.
    """
    postgresql = db.engine.dialect.name == "postgresql"
    options = {"isolation_level": "AUTOCOMMIT"} if postgresql else {}
    with db.engine.connect().execution_options(**options) as connection:
        found = connection.execute(
            select(CallbackAlert.id).where(CallbackAlert.idempotency_key == idempotency_key)
        ).first()
    return found is not None


def apply_callback(kind: AlertKind, callback: Callback, body: dict[str, Any]) -> Verdict:
    """Record a verified alert once, apply it, and say what happened; commits before returning."""
    # The inbox row and what it did commit together, so a row found is an alert applied.
    if already_recorded(callback.idempotency_key):
        return Verdict.DUPLICATE
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
    events.record(
        EventKind.CALLBACK,
        EventSource.HIGHHELP,
        f"{kind} alert {reported.key}: {verdict}" + (f" ({detail})" if detail else ""),
        payment=payment if verdict is not Verdict.ORPHAN else None,
        alert_id=alert_id,
        data={
            "kind": kind,
            "state": reported.key,
            "verdict": verdict,
            "idempotency_key": callback.idempotency_key,
            "detail": detail,
        },
    )
    db.session.commit()
    return verdict
