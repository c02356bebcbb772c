"""Starting a payment: store the attempt, then create it at HighHelp (store-then-create).

One open attempt per order (a partial unique index) makes a double click reuse the stored attempt;
a failed create keeps it, so a retry sends the same request under the same payment_id.
"""

from __future__ import annotations

import enum
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..database import begin_write
from ..extensions import db
from ..gateway import current_settings, highhelp_client
from ..highhelp import BadPayload, Busy, InvalidRequest, Rejected, Unavailable
from ..highhelp.statuses import SUCCESS, PayinState
from ..highhelp.wire import COUNTRY_KZ, WIDGET_METHOD_MOBILE, CreatePayinRequest
from ..models import DESCRIPTION_LENGTH, LAST_ERROR_LENGTH, EventKind, EventSource, Order, Payment
from ..sqltypes import utcnow
from . import events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Customer:
    """What the checkout knows about the person paying."""

    id: str
    ip_address: str | None
    # The language they pay in (the page of the Pay press); None keeps the order's.
    language: str | None = None


class StartError(enum.StrEnum):
    """Why the payer cannot go to HighHelp's page yet."""

    UNAVAILABLE = "unavailable"  # HighHelp unreachable, slow or failing: try again
    BUSY = "busy"  # this process already waits on as many HighHelp calls as it allows: try again
    REFUSED = "refused"  # HighHelp (or our own check) said no


@dataclass(frozen=True)
class StartResult:
    """Where the payer goes next, or why they cannot go yet."""

    form_url: str | None = None
    error: StartError | None = None


def latest_attempt(order: Order) -> Payment | None:
    """The order's newest payment attempt."""
    return order.payments[-1] if order.payments else None


def awaits_a_person(order: Order) -> bool:
    """True while money may have moved without paying the order: a flag, or a success not applied."""
    return any(payment.needs_review or payment.state == SUCCESS.key for payment in order.payments)


def open_attempt(order_id: int) -> Payment | None:
    """The order's attempt that is not final yet, if any."""
    query = select(Payment).where(Payment.order_id == order_id, Payment.is_open.is_(True))
    return db.session.execute(query).scalar()


def new_payment_id(order: Order) -> str:
    """Our id for one attempt: readable, and unique even if a database is reset."""
    return f"KZ{order.id:06d}-{len(order.payments) + 1}-{secrets.token_hex(3)}"


def describe_order(order: Order, language: str) -> str:
    """What the customer is paying for, in `language`; a payment link's description as staff wrote it."""
    if order.created_by_id is not None:
        return order.description
    items = ", ".join(f"{line.display_name(language)} × {line.quantity}" for line in order.lines)
    with force_locale(language):
        return str(_("Order %(number)s: %(items)s", number=order.id, items=items))[:DESCRIPTION_LENGTH]


def create_request_body(
    order: Order, payment_id: str, customer: Customer, urls: dict[str, str]
) -> dict[str, Any]:
    """The create request for one attempt, checked against every protocol limit."""
    settings = current_settings()
    language = customer.language or order.language
    customer_part: dict[str, Any] = {"id": customer.id, "country": COUNTRY_KZ, "language": language}
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
            "description": describe_order(order, language),
            "widget_method": WIDGET_METHOD_MOBILE,
        },
        "customer": customer_part,
    }
    return CreatePayinRequest.build(body).body()


def start_payment(order: Order, customer: Customer, urls: dict[str, str]) -> StartResult:
    """Store the attempt, then create it at HighHelp; a repeat click reuses the stored one."""
    if order.is_paid or awaits_a_person(order):
        # The order page says where things stand; a page left open must not start a second charge.
        return StartResult()
    payment = open_attempt(order.id)
    if payment is None:
        try:
            payment_id = new_payment_id(order)
            body = create_request_body(order, payment_id, customer, urls)
        except InvalidRequest as exc:
            log.error("order %s: create request is invalid: %s", order.id, exc)
            return StartResult(error=StartError.REFUSED)
        payment = Payment(
            payment_id=payment_id,
            order=order,
            amount=order.amount,
            currency=order.currency,
            request_body=body,
        )
        if order.created_by_id is None:
            # A shop order's receipt speaks the language of this Pay press, like HighHelp's page
            # (the stored body keeps it for every retry). A payment link keeps the language staff
            # wrote its description in, and so its URL and QR code (merchant/paylinks.py).
            order.language = body["customer"]["language"]
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
        return StartResult(payment.form_url)
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
    now = utcnow()
    begin_write()
    events.record(
        EventKind.CREATE_SENT,
        EventSource.CUSTOMER,
        f"created at HighHelp: {answer.status}/{answer.sub_status}",
        payment=payment,
        data=events.exchange_record(),
    )
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id)
        .values(
            request_id=answer.request_id,
            form_url=answer.integration.form_url,
            expires_at=now + payment.lifetime,
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
    return StartResult(answer.integration.form_url)


def _keep_for_retry(payment: Payment, reason: str, error: StartError) -> StartResult:
    log.warning("payment %s not created: %s", payment.payment_id, reason)
    begin_write()
    last_error = reason[:LAST_ERROR_LENGTH]
    db.session.execute(update(Payment).where(Payment.id == payment.id).values(last_error=last_error))
    if error is not StartError.BUSY:
        # Busy sent nothing; anything else went over the wire and belongs in the timeline.
        events.record(
            EventKind.CREATE_FAILED,
            EventSource.CUSTOMER,
            reason,
            payment=payment,
            data=events.exchange_record(),
        )
    db.session.commit()
    return StartResult(error=error)
