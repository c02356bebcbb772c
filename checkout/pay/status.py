"""What the order page says about payment, worked out from our database alone; no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from ..highhelp import assumed, statuses
from ..highhelp.statuses import PayinState
from ..models import Order, Payment

# Steps the customer sees, in order, and which HighHelp states belong to each.
STEPS = ("created", "code_sent", "checking", "paid", "done")
STEP_OF = {
    statuses.NEW: 0,
    statuses.REQUISITES: 1,
    statuses.AWAITING_3DS_RESULT: 1,
    statuses.SENT_VERIFICATION: 2,
    statuses.INVALID_VERIFICATION: 2,
    statuses.PAID: 3,
    statuses.SUCCESS: 4,
}
FAST_POLL_SECONDS = 2
SLOW_POLL_SECONDS = 5
SLOW_DOWN_AFTER = 60


class Phase(enum.StrEnum):
    """Where the order stands, as the customer sees it."""

    UNPAID = "unpaid"  # no attempt yet
    NOT_CREATED = "not_created"  # an attempt HighHelp has not created (yet, or ever)
    PENDING = "pending"  # HighHelp is working on it
    PAID = "paid"
    REVIEW = "review"  # a person must look before anything else happens
    DECLINED = "declined"


class DeclineReason(enum.StrEnum):
    """Why the last attempt was declined, in words the page can explain."""

    WRONG_CODE = "wrong_code"
    OPERATOR = "operator"
    NOT_CONFIRMED = "not_confirmed"
    EXPIRED = "expired"
    DECLINED = "declined"  # HighHelp said no without saying why


# A new attempt may start only from these: never while one is open or under review.
CAN_PAY_PHASES = frozenset({Phase.UNPAID, Phase.DECLINED, Phase.NOT_CREATED})


@dataclass(frozen=True)
class PaymentView:
    """Everything the status fragment needs to render one moment of an order's payment."""

    phase: Phase
    payment: Payment | None
    step: int = 0
    seconds_left: int | None = None
    reason: DeclineReason | None = None
    poll_seconds: int | None = None  # None: final, the fragment stops polling

    @property
    def refresh_seconds(self) -> int | None:
        """How often the page reloads itself without JavaScript: at the slow pace, never once final."""
        return SLOW_POLL_SECONDS if self.poll_seconds else None

    @property
    def can_pay(self) -> bool:
        """True when a new attempt may start (never while one is open or under review)."""
        return self.phase in CAN_PAY_PHASES


def decline_reason(payment: Payment) -> DeclineReason:
    """Why a payin was declined, from HighHelp's own words and the step it was at.

    When the decline was recorded says nothing: a wrong code reported late is still a wrong code.
    """
    description = (payment.status_description or "").lower()
    if any(marker in description for marker in assumed.EXPIRY_DESCRIPTION_MARKERS):
        return DeclineReason.EXPIRED
    step = PayinState.from_key(payment.decline_step) if payment.decline_step else None
    if step == statuses.INVALID_VERIFICATION:
        return DeclineReason.WRONG_CODE
    if step == statuses.PAID:
        return DeclineReason.OPERATOR
    if step in (statuses.AWAITING_3DS_RESULT, statuses.SENT_VERIFICATION):
        return DeclineReason.NOT_CONFIRMED
    return DeclineReason.DECLINED


def payment_view(order: Order, payment: Payment | None, now: datetime, polling_since: float) -> PaymentView:
    """The status of an order's latest attempt as the customer should see it."""
    if order.is_paid:
        return PaymentView(Phase.PAID, payment, step=STEP_OF[statuses.SUCCESS])
    if payment is None:
        return PaymentView(Phase.UNPAID, None)
    if payment.needs_review:
        return PaymentView(Phase.REVIEW, payment)
    poll = FAST_POLL_SECONDS if now.timestamp() - polling_since < SLOW_DOWN_AFTER else SLOW_POLL_SECONDS
    if payment.is_open and payment.form_url is None:
        return PaymentView(Phase.NOT_CREATED, payment)
    if payment.is_open:
        state = PayinState.from_key(payment.state) if payment.state else statuses.NEW
        left = int((payment.expires_at - now).total_seconds()) if payment.expires_at else None
        return PaymentView(
            Phase.PENDING,
            payment,
            step=STEP_OF.get(state, 1),
            seconds_left=max(0, left or 0),
            poll_seconds=poll,
        )
    if payment.state == statuses.DECLINE.key:
        return PaymentView(Phase.DECLINED, payment, reason=decline_reason(payment))
    if payment.state == statuses.SUCCESS.key:
        # HighHelp said success but the order is not paid: only a person can settle it.
        return PaymentView(Phase.REVIEW, payment)
    return PaymentView(Phase.NOT_CREATED, payment)
