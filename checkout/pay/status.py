"""What the order page says about payment, worked out from our database alone; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..highhelp import statuses
from ..highhelp.statuses import PayinState
from ..models import Order, Payment
from ..payments.phases import CAN_PAY_PHASES, DeclineReason, Phase, decline_reason, phase_of

__all__ = ["DeclineReason", "PaymentView", "Phase", "decline_reason", "payment_view"]

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


@dataclass(frozen=True)
class PaymentView:
    """Everything the status fragment needs to render one moment of an order's payment."""

    phase: Phase
    payment: Payment | None
    step: int = 0
    seconds_left: int | None = None
    reason: DeclineReason | None = None
    poll_seconds: int | None = None  # None: final, the fragment stops polling
    # The customer cancelled this declined attempt from the order page (the caller looks it up).
    cancelled: bool = False

    @property
    def message_key(self) -> str:
        """Names what the live region says: it is re-rendered (and re-read aloud) only when this changes."""
        attempt = self.payment.id if self.payment is not None else 0
        outcome = "cancelled" if self.cancelled else (self.reason or "")
        return f"{self.phase}.{attempt}.{outcome}"

    @property
    def details_key(self) -> str:
        """Names what the rest of the status shows (progress, actions, receipt); the clock ticks by itself."""
        return f"{self.message_key}.{self.step}"

    @property
    def can_pay(self) -> bool:
        """True when a new attempt may start (never while one is open or under review)."""
        return self.phase in CAN_PAY_PHASES

    @property
    def can_cancel(self) -> bool:
        """True while HighHelp is working on the attempt: the customer may give it up."""
        return self.phase is Phase.PENDING


def payment_view(order: Order, payment: Payment | None, now: datetime, polling_since: float) -> PaymentView:
    """The status of an order's latest attempt as the customer should see it."""
    if order.is_paid:
        return PaymentView(Phase.PAID, payment, step=STEP_OF[statuses.SUCCESS])
    if payment is None:
        return PaymentView(Phase.UNPAID, None)
    phase = phase_of(payment, order_is_paid=False)
    if phase is Phase.PENDING:
        poll = FAST_POLL_SECONDS if now.timestamp() - polling_since < SLOW_DOWN_AFTER else SLOW_POLL_SECONDS
        state = PayinState.from_key(payment.state) if payment.state else statuses.NEW
        left = int((payment.expires_at - now).total_seconds()) if payment.expires_at else None
        return PaymentView(
            Phase.PENDING,
            payment,
            step=STEP_OF.get(state, 1),
            seconds_left=max(0, left or 0),
            poll_seconds=poll,
        )
    if phase is Phase.DECLINED:
        return PaymentView(Phase.DECLINED, payment, reason=decline_reason(payment))
    return PaymentView(phase, payment)
