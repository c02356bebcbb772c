"""Where an order stands for the back office, worked out once in Python and once in SQL, alike.

The order's state follows its latest attempt, as the customer's page does, with two differences a
merchant needs: an order with any attempt flagged for review shows "needs review" (even when paid,
so a double payment is seen), and an expired decline is told apart from other declines.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import aliased

from ..highhelp import assumed, statuses
from ..models import Order, OrderStatus, Payment
from ..payments.phases import DeclineReason


class OrderState(enum.StrEnum):
    """The states the orders list filters by and shows."""

    PAID = "paid"
    PENDING = "pending"
    DECLINED = "declined"
    EXPIRED = "expired"
    REVIEW = "review"
    NOT_CREATED = "not_created"  # no payin at HighHelp yet: no attempt, or one HighHelp never answered


STATE_LABELS = {
    OrderState.PAID: _l("paid"),
    OrderState.PENDING: _l("pending"),
    OrderState.DECLINED: _l("declined"),
    OrderState.EXPIRED: _l("expired"),
    OrderState.REVIEW: _l("needs review"),
    OrderState.NOT_CREATED: _l("not created"),
}

# The latest attempt of each order (a row of `payments`, or NULL): the one the state follows.
latest = aliased(Payment, name="latest")
LATEST_ID = (
    select(func.max(Payment.id)).where(Payment.order_id == Order.id).correlate(Order).scalar_subquery()
)
# True when any attempt of the order waits for a person (served by the partial index on needs_review).
FLAGGED = exists().where(Payment.order_id == Order.id, Payment.needs_review).correlate(Order)
# Attempts HighHelp is working on: open and answered (the partial index on open attempts).
OPEN_ANSWERED = select(Payment.order_id).where(Payment.is_open, Payment.form_url.is_not(None))
OPEN_UNANSWERED = select(Payment.order_id).where(Payment.is_open, Payment.form_url.is_(None))
ANY_ATTEMPT = exists().where(Payment.order_id == Order.id).correlate(Order)


def decline_reason_sql(payment: type[Payment]) -> ColumnElement[str]:
    """`phases.decline_reason` as a SQL CASE over the same constants."""
    description = func.lower(func.coalesce(payment.status_description, ""))
    expired = or_(*(description.contains(marker) for marker in assumed.EXPIRY_DESCRIPTION_MARKERS))
    cancelled = or_(*(description.contains(marker) for marker in assumed.CANCEL_DESCRIPTION_MARKERS))
    not_confirmed = (statuses.AWAITING_3DS_RESULT.key, statuses.SENT_VERIFICATION.key)
    return case(
        (expired, DeclineReason.EXPIRED.value),
        (cancelled, DeclineReason.CANCELLED.value),
        (payment.decline_step == statuses.INVALID_VERIFICATION.key, DeclineReason.WRONG_CODE.value),
        (payment.decline_step == statuses.PAID.key, DeclineReason.OPERATOR.value),
        (payment.decline_step.in_(not_confirmed), DeclineReason.NOT_CONFIRMED.value),
        else_=DeclineReason.DECLINED.value,
    )


def state_condition(state: OrderState) -> ColumnElement[bool]:
    """A WHERE clause on `orders` (joined to `latest`) that holds exactly for orders in `state`."""
    is_open = Order.status == OrderStatus.OPEN
    if state is OrderState.REVIEW:
        return FLAGGED
    if state is OrderState.PAID:
        return and_(Order.status == OrderStatus.PAID, not_(FLAGGED))
    if state is OrderState.PENDING:
        return and_(is_open, Order.id.in_(OPEN_ANSWERED), not_(FLAGGED))
    if state is OrderState.NOT_CREATED:
        return and_(is_open, not_(FLAGGED), or_(not_(ANY_ATTEMPT), Order.id.in_(OPEN_UNANSWERED)))
    # The latest attempt's reason as a per-order subquery, not through the join: the database cannot
    # guess how many declines expired, and on a guess too low it would join every order before the
    # first page; a subquery it can only check order by order, walking back from the newest.
    attempt = aliased(Payment)
    reason = (
        select(decline_reason_sql(attempt))
        .where(attempt.id == LATEST_ID, attempt.state == statuses.DECLINE.key)
        .scalar_subquery()
    )
    expired = DeclineReason.EXPIRED.value
    return and_(
        is_open, not_(FLAGGED), reason == expired if state is OrderState.EXPIRED else reason != expired
    )


@dataclass(frozen=True)
class Standing:
    """What the state is read from: the order's status and its latest attempt, as selected."""

    order_status: str
    flagged: bool
    has_attempt: bool
    is_open: bool | None
    answered: bool | None
    payment_state: str | None
    decline_reason: str | None

    @property
    def state(self) -> OrderState:
        """The order's state, the same as `state_condition` selects."""
        if self.flagged:
            return OrderState.REVIEW
        if self.order_status == OrderStatus.PAID:
            return OrderState.PAID
        if not self.has_attempt or (self.is_open and not self.answered):
            return OrderState.NOT_CREATED
        if self.is_open:
            return OrderState.PENDING
        if self.payment_state == statuses.DECLINE.key:
            expired = self.decline_reason == DeclineReason.EXPIRED
            return OrderState.EXPIRED if expired else OrderState.DECLINED
        # HighHelp said success and the order is not paid: only a person can settle it.
        return OrderState.REVIEW
