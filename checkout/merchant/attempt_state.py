"""Where one order or attempt stands, as the back office's state badge shows it; no I/O."""

from __future__ import annotations

import enum

from ..highhelp import statuses
from ..models import Order, Payment
from ..payments.phases import DeclineReason, decline_reason


class Badge(enum.StrEnum):
    """The state a badge shows; each value is also its CSS class suffix (`.state-<value>`)."""

    PAID = "paid"
    PENDING = "pending"
    DECLINED = "declined"
    EXPIRED = "expired"
    REVIEW = "review"
    NOT_CREATED = "not_created"


def attempt_badge(payment: Payment) -> Badge:
    """One attempt's state, as the customer's page would judge it."""
    if payment.needs_review:
        return Badge.REVIEW
    if payment.state == statuses.SUCCESS.key:
        return Badge.PAID
    if payment.state == statuses.DECLINE.key:
        return Badge.EXPIRED if decline_reason(payment) is DeclineReason.EXPIRED else Badge.DECLINED
    if payment.is_open and payment.state is not None and payment.form_url is not None:
        return Badge.PENDING
    return Badge.NOT_CREATED


def order_badge(order: Order) -> Badge:
    """The order's state: paid, or where its latest attempt stands."""
    if order.is_paid:
        return Badge.PAID
    if not order.payments:
        return Badge.NOT_CREATED
    badge = attempt_badge(order.payments[-1])
    # HighHelp said success, yet the order is not paid (a resolved mismatch): still a person's call.
    return Badge.REVIEW if badge is Badge.PAID else badge
