"""Whether the customer cancelled an attempt, from the order's history (the decline alone cannot say)."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Event, EventKind, EventSource, Payment
from ..payments.actions import ActionOutcome


def cancelled_by_customer(payment: Payment) -> bool:
    """True when HighHelp answered the customer's /cancel of this attempt (one indexed read)."""
    query = select(Event.data).where(
        Event.payment_ref == payment.id,
        Event.kind == EventKind.CANCEL,
        Event.source == EventSource.CUSTOMER,
    )
    return any(data.get("outcome") == ActionOutcome.ANSWERED for data in db.session.execute(query).scalars())
