"""Where an order's payment stands, in words both the customer's page and the back office use; no I/O."""

from __future__ import annotations

import enum

from ..highhelp import assumed, statuses
from ..highhelp.statuses import PayinState
from ..models import Payment


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
    CANCELLED = "cancelled"  # by the customer, the payer's page or the back office
    DECLINED = "declined"  # HighHelp said no without saying why


# A new attempt may start only from these: never while one is open or under review.
CAN_PAY_PHASES = frozenset({Phase.UNPAID, Phase.DECLINED, Phase.NOT_CREATED})


def phase_of(payment: Payment, order_is_paid: bool) -> Phase:
    """Where an order stands with this attempt its latest: the phase its page and the metrics show."""
    if order_is_paid:
        return Phase.PAID
    if payment.needs_review:
        return Phase.REVIEW
    if payment.is_open:
        return Phase.PENDING if payment.form_url else Phase.NOT_CREATED
    if payment.state == statuses.DECLINE.key:
        return Phase.DECLINED
    if payment.state == statuses.SUCCESS.key:
        # HighHelp said success but the order is not paid: only a person can settle it.
        return Phase.REVIEW
    return Phase.NOT_CREATED


def decline_reason(payment: Payment) -> DeclineReason:
    """Why a payin was declined, from HighHelp's own words and the step it was at.

    When the decline was recorded says nothing: a wrong code reported late is still a wrong code.
    """
    description = (payment.status_description or "").lower()
    if any(marker in description for marker in assumed.EXPIRY_DESCRIPTION_MARKERS):
        return DeclineReason.EXPIRED
    if any(marker in description for marker in assumed.CANCEL_DESCRIPTION_MARKERS):
        return DeclineReason.CANCELLED
    step = PayinState.from_key(payment.decline_step) if payment.decline_step else None
    if step == statuses.INVALID_VERIFICATION:
        return DeclineReason.WRONG_CODE
    if step == statuses.PAID:
        return DeclineReason.OPERATOR
    if step in (statuses.AWAITING_3DS_RESULT, statuses.SENT_VERIFICATION):
        return DeclineReason.NOT_CONFIRMED
    return DeclineReason.DECLINED
