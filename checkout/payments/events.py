"""Writing the append-only history an order's timeline is read from.

Every function adds one row to the caller's session, so it commits or rolls back with the change
it records; none commits on its own.
"""

from __future__ import annotations

from typing import Any

from ..extensions import db
from ..highhelp.client import Exchange, last_exchange
from ..models import Event, EventKind, EventSource, Payment

SUMMARY_LENGTH = 1024


def record(
    kind: EventKind,
    source: EventSource,
    summary: str,
    *,
    order_id: int | None = None,
    payment: Payment | None = None,
    alert_id: int | None = None,
    staff_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add one line of history to the current transaction."""
    event = Event(
        kind=kind,
        source=source,
        summary=summary[:SUMMARY_LENGTH],
        order_id=payment.order_id if payment is not None else order_id,
        payment_ref=payment.id if payment is not None else None,
        alert_id=alert_id,
        staff_id=staff_id,
        data=data or {},
    )
    db.session.add(event)
    return event


def exchange_record(exchange: Exchange | None = None) -> dict[str, Any]:
    """The last call to HighHelp in this thread as the timeline keeps it; empty if none was sent."""
    exchange = exchange or last_exchange()
    return exchange.as_record() if exchange is not None else {}
