"""Plain words for the order detail, its timeline, the staff actions and the review queue."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..highhelp import statuses
from ..models import EventKind, EventSource, StaffRole
from ..payments.actions import ActionOutcome
from ..payments.alerts import AlertKind, Verdict
from ..payments.review_queue import Problem
from ..payments.states import Outcome
from .order_state import STATE_LABELS, OrderState

# The orders list's own words for each state, so a badge reads the same on both pages.
BADGES: dict[OrderState, str] = STATE_LABELS

EVENT_TITLES = {
    EventKind.ORDER_CREATED: _l("Payment link created"),
    EventKind.CREATE_SENT: _l("Payin created at HighHelp"),
    EventKind.CREATE_FAILED: _l("Payin creation failed"),
    EventKind.CALLBACK: _l("Callback from HighHelp"),
    EventKind.INFO_READ: _l("Status read from HighHelp (/info)"),
    EventKind.CANCEL: _l("Cancel requested"),
    EventKind.CONFIRM: _l("Confirm requested"),
    EventKind.REVIEW_RESOLVED: _l("Review item resolved"),
    EventKind.STAFF_CHANGED: _l("Staff changed"),
}

SOURCES = {
    EventSource.CUSTOMER: _l("the customer"),
    EventSource.HIGHHELP: _l("HighHelp"),
    EventSource.RECONCILER: _l("the reconciler (background check)"),
    EventSource.STAFF: _l("a member of staff"),
}

ALERT_KINDS = {
    AlertKind.INFO: _l("progress alert"),
    AlertKind.SUCCESS: _l("success alert"),
    AlertKind.DECLINE: _l("decline alert"),
}

VERDICTS = {
    Verdict.RECEIVED: _l("Recorded."),
    Verdict.APPLIED: _l("Applied: the payment moved to the reported state."),
    Verdict.UNCHANGED: _l("Nothing to do: the payment already had this state."),
    Verdict.STALE: _l("Ignored: it reports an earlier step than the one we already had."),
    Verdict.FINAL_KEPT: _l("Ignored: the payment was already final."),
    Verdict.CONFLICT: _l("Ignored and sent to review: it contradicts the final state we already had."),
    Verdict.ORPHAN: _l("Stored for review: no payment of ours has this payment_id."),
}

OUTCOMES = {
    Outcome.APPLIED: _l("The payment moved to this state."),
    Outcome.UNCHANGED: _l("Nothing changed: we already had this state."),
    Outcome.STALE: _l("Nothing changed: we already had a later step."),
    Outcome.FINAL_KEPT: _l("Nothing changed: the payment was already final."),
    Outcome.CONFLICT: _l(
        "Nothing changed, and the payment was sent to review: it contradicts our final state."
    ),
}

ACTION_FAILURES = {
    ActionOutcome.REFUSED: _l("HighHelp refused: %(reason)s. Nothing changed here."),
    ActionOutcome.UNAVAILABLE: _l(
        "HighHelp did not answer usably (%(reason)s). Nothing changed here; re-check in a moment."
    ),
    ActionOutcome.BUSY: _l("Too many calls to HighHelp are in progress; nothing was sent. Try again."),
    ActionOutcome.NOT_ALLOWED: _l("This payment's state does not allow that; nothing was sent."),
}

PROBLEMS = {
    Problem.DOUBLE_PAYMENT: (
        _l("The order was already paid by another payment: the customer paid twice."),
        _l(
            "Refund this second payment in HighHelp's merchant cabinet, then resolve with the refund"
            " reference."
        ),
    ),
    Problem.AMOUNT: (
        _l("HighHelp reports another amount or currency than the order's, so the order was not marked paid."),
        _l(
            "Compare the amount in HighHelp's merchant cabinet with the order; refund it or agree the"
            " difference with the customer, then resolve with what you did."
        ),
    ),
    Problem.CONFLICT: (
        _l("HighHelp reported a final state that contradicts the one we already had."),
        _l(
            "Check the payment in HighHelp's merchant cabinet and press Re-check on the order; refund or"
            " contact the customer if money moved, then resolve with what you found."
        ),
    ),
    Problem.OTHER: (
        _l("The payment was flagged for a person to look at."),
        _l(
            "Check the payment in HighHelp's merchant cabinet and re-check, then resolve with what you found."
        ),
    ),
    Problem.ORPHAN: (
        _l("HighHelp sent a signed callback about a payment_id this shop does not know."),
        _l(
            "Look the payment_id up in HighHelp's merchant cabinet: it may belong to another cash register"
            " or a lost order. Refund it there if money was taken, then resolve."
        ),
    ),
    Problem.STUCK: (
        _l(
            "This attempt is still open more than 10 minutes after its lifetime ended; the reconciler"
            " could not settle it."
        ),
        _l(
            "Check the payment in HighHelp's merchant cabinet and press Re-check on the order; if HighHelp"
            " does not know it, resolve with a note."
        ),
    ),
}

# HighHelp's states in words; an unknown state is shown as HighHelp wrote it.
HIGHHELP_STATES = {
    statuses.NEW.key: _l("created, waiting for the customer"),
    statuses.REQUISITES.key: _l("the customer entered a phone number"),
    statuses.AWAITING_3DS_RESULT.key: _l("a code was sent to the customer"),
    statuses.SENT_VERIFICATION.key: _l("checking the customer's code"),
    statuses.INVALID_VERIFICATION.key: _l("the customer entered a wrong code"),
    statuses.PAID.key: _l("paid at the operator, waiting to be finished"),
    statuses.SUCCESS.key: _l("success: the money arrived"),
    statuses.DECLINE.key: _l("declined"),
}


def highhelp_state(key: str | None) -> str:
    """HighHelp's `status:sub_status` in words."""
    if key is None:
        return str(_l("no answer from HighHelp yet"))
    words = HIGHHELP_STATES.get(key)
    return f"{words} ({key})" if words is not None else key


def source_label(kind: str, source: str) -> str:
    """Who caused an event that no member of staff is named for."""
    if source == EventSource.CUSTOMER:
        if kind == EventKind.INFO_READ:
            return str(_l("the customer's return page"))
        return str(_l("the customer's Pay button"))
    return str(SOURCES.get(EventSource(source), source))


ROLE_LABELS = {
    StaffRole.VIEWER: _l("viewer"),
    StaffRole.OPERATOR: _l("operator"),
    StaffRole.OWNER: _l("owner"),
}


def role_label(role: str) -> str:
    """A role's name in the page's language."""
    return str(ROLE_LABELS.get(StaffRole(role), role))


ACTION_LABELS = {
    EventKind.ORDER_CREATED: _l("Payment link created"),
    EventKind.INFO_READ: _l("Re-checked with HighHelp"),
    EventKind.CANCEL: _l("Cancel asked"),
    EventKind.CONFIRM: _l("Confirm asked"),
    EventKind.REVIEW_RESOLVED: _l("Review resolved"),
}


def action_label(kind: str) -> str:
    """A staff action's name in the page's language."""
    label = ACTION_LABELS.get(EventKind(kind)) if kind in set(EventKind) else None
    return str(label) if label is not None else kind
