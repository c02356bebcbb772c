"""Where one attempt (or its order) stands, as the back office's state badge shows it; no I/O."""

from __future__ import annotations

from ..highhelp import statuses
from ..models import Order, Payment
from ..payments.phases import DeclineReason, decline_reason
from .order_state import OrderState, Standing


def attempt_badge(payment: Payment) -> OrderState:
    """One attempt's state, as the customer's page would judge it."""
    if payment.needs_review:
        return OrderState.REVIEW
    if payment.state == statuses.SUCCESS.key:
        return OrderState.PAID
    if payment.state == statuses.DECLINE.key:
        return OrderState.EXPIRED if decline_reason(payment) is DeclineReason.EXPIRED else OrderState.DECLINED
    if payment.is_open and payment.state is not None and payment.form_url is not None:
        return OrderState.PENDING
    return OrderState.NOT_CREATED


def order_badge(order: Order) -> OrderState:
    """The order's state, read the way the orders list reads it (order_state.Standing)."""
    latest = order.payments[-1] if order.payments else None
    return Standing(
        order_status=order.status,
        flagged=any(payment.needs_review for payment in order.payments),
        has_attempt=latest is not None,
        is_open=latest.is_open if latest else None,
        answered=latest.form_url is not None if latest else None,
        payment_state=latest.state if latest else None,
        decline_reason=decline_reason(latest) if latest and latest.state == statuses.DECLINE.key else None,
    ).state
