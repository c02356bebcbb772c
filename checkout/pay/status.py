"""What the order page says about payment, worked out from our database alone; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..highhelp import assumed
from ..models import Order, Payment
from ..payments import states
from ..payments.states import PayinState

# Steps the customer sees, in order, and which HighHelp states belong to each.
STEPS = ("created", "code_sent", "checking", "paid", "done")
STEP_OF = {
    states.NEW: 0,
    states.REQUISITES: 1,
    states.AWAITING_3DS_RESULT: 1,
    states.SENT_VERIFICATION: 2,
    states.INVALID_VERIFICATION: 2,
    states.PAID: 3,
    states.SUCCESS: 4,
}
FAST_POLL_SECONDS = 2
SLOW_POLL_SECONDS = 5
SLOW_DOWN_AFTER = 60


@dataclass(frozen=True)
class PaymentView:
    """Everything the status fragment needs to render one moment of an order's payment."""

    phase: str  # unpaid, not_created, pending, paid, review, declined
    payment: Payment | None
    step: int = 0
    seconds_left: int | None = None
    reason: str | None = None  # why the last attempt was declined
    poll_seconds: int | None = None  # None: final, the fragment stops polling

    @property
    def can_pay(self) -> bool:
        """True when a new attempt may start (never while one is open or under review)."""
        return self.phase in ("unpaid", "declined", "not_created")


def decline_reason(payment: Payment) -> str:
    """Why a payin was declined, from HighHelp's own words and the step it was at.

    When the decline was recorded says nothing: a wrong code reported late is still a wrong code.
    """
    description = (payment.status_description or "").lower()
    if any(marker in description for marker in assumed.EXPIRY_DESCRIPTION_MARKERS):
        return "expired"
    step = PayinState.from_key(payment.decline_step) if payment.decline_step else None
    if step == states.INVALID_VERIFICATION:
        return "wrong_code"
    if step == states.PAID:
        return "operator"
    if step in (states.AWAITING_3DS_RESULT, states.SENT_VERIFICATION):
        return "not_confirmed"
    return "declined"


def payment_view(order: Order, payment: Payment | None, now: datetime, polling_since: float) -> PaymentView:
    """The status of an order's latest attempt as the customer should see it."""
    if order.is_paid:
        return PaymentView("paid", payment, step=4)
    if payment is None:
        return PaymentView("unpaid", None)
    if payment.needs_review:
        return PaymentView("review", payment)
    poll = FAST_POLL_SECONDS if now.timestamp() - polling_since < SLOW_DOWN_AFTER else SLOW_POLL_SECONDS
    if payment.is_open and payment.form_url is None:
        return PaymentView("not_created", payment)
    if payment.is_open:
        state = PayinState.from_key(payment.state) if payment.state else states.NEW
        left = int((payment.expires_at - now).total_seconds()) if payment.expires_at else None
        return PaymentView(
            "pending", payment, step=STEP_OF.get(state, 1), seconds_left=max(0, left or 0), poll_seconds=poll
        )
    if payment.state == states.DECLINE.key:
        return PaymentView("declined", payment, reason=decline_reason(payment))
    if payment.state == states.SUCCESS.key:
        # HighHelp said success but the order is not paid: only a person can settle it.
        return PaymentView("review", payment)
    return PaymentView("not_created", payment)
