"""An order's history for the detail page: its events, with the callbacks' raw bodies, per attempt."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import CallbackAlert, Event, EventKind, Order, Payment


def pretty(value: Any) -> str:
    """JSON for a person to read; the template escapes it like any other text."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Entry:
    """One line of a timeline: an event and, for a callback, the alert as it came."""

    event: Event
    alert: CallbackAlert | None = None

    @property
    def kind(self) -> EventKind:
        """What the event records."""
        return EventKind(self.event.kind)

    @property
    def request(self) -> dict[str, Any]:
        """The request we sent HighHelp, secrets already redacted; empty if none was sent."""
        return _mapping(self.event.data.get("request"))

    @property
    def response(self) -> dict[str, Any]:
        """HighHelp's answer as recorded: http_status, body, failure."""
        return _mapping(self.event.data.get("response"))

    @property
    def request_body_json(self) -> str:
        """The request's body, pretty-printed."""
        return pretty(self.request.get("body"))

    @property
    def response_body_json(self) -> str | None:
        """The answer's body, pretty-printed; None when there was none."""
        body = self.response.get("body")
        return pretty(body) if body is not None else None

    @property
    def raw_json(self) -> str | None:
        """The callback's body exactly as stored, pretty-printed."""
        return pretty(self.alert.body) if self.alert is not None else None

    @property
    def answered_state(self) -> str | None:
        """The `status:sub_status` HighHelp's answer carried, if it carried one."""
        body = _mapping(self.response.get("body"))
        status = body.get("status")
        if not isinstance(status, str):
            return None
        sub_status = body.get("sub_status")
        return f"{status}:{sub_status}" if isinstance(sub_status, str) and sub_status else status

    @property
    def payment_info(self) -> dict[str, Any] | None:
        """HighHelp's amounts as this event carried them (a callback body or an /info answer)."""
        if self.alert is not None:
            info = _mapping(self.alert.body).get("payment_info")
        elif self.kind is EventKind.INFO_READ:
            info = _mapping(self.response.get("body")).get("payment_info")
        else:
            info = None
        return info if isinstance(info, dict) else None


@dataclass
class Attempt:
    """A payment attempt with its own timeline, oldest entry first."""

    payment: Payment
    entries: list[Entry] = field(default_factory=list)

    @property
    def highhelp_amounts(self) -> dict[str, Any] | None:
        """The last payment_info HighHelp sent about it: amount, old_amount, initial_amount, currency."""
        for entry in reversed(self.entries):
            info = entry.payment_info
            if info is not None:
                return info
        return None


@dataclass(frozen=True)
class History:
    """Everything the detail page shows below the order: its own entries and each attempt's."""

    order_entries: list[Entry]
    attempts: list[Attempt]


def history(order: Order) -> History:
    """The order's events in the order they happened (by id), grouped by attempt."""
    query = (
        select(Event, CallbackAlert)
        .outerjoin(CallbackAlert, CallbackAlert.id == Event.alert_id)
        .where(Event.order_id == order.id)
        .options(selectinload(Event.staff))
        .order_by(Event.id)
    )
    by_payment: dict[int | None, list[Entry]] = defaultdict(list)
    for event, alert in db.session.execute(query).tuples():
        by_payment[event.payment_ref].append(Entry(event, alert))
    attempts = [Attempt(payment, by_payment.get(payment.id, [])) for payment in order.payments]
    return History(by_payment.get(None, []), attempts)
