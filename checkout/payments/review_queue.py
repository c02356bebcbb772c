"""The review queue: what needs a person, read from the payments and the callback inbox; no writes.

Three kinds of open items: payments flagged `needs_review`, orphan callbacks (a payment_id we do
not know) and stuck attempts (open well past their lifetime: the reconciler could not settle
them). An item leaves the queue once a ReviewResolution holds its key.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..extensions import db
from ..highhelp.wire import LIFETIME_RANGE
from ..models import CallbackAlert, Payment, ReviewResolution
from ..sqltypes import utcnow
from .alerts import Verdict

# An open attempt this long past its lifetime is one the reconciler could not settle.
STUCK_GRACE = timedelta(minutes=10)
# The most open attempts one look at the queue reads (the count shows at most this many stuck ones).
STUCK_SCAN_LIMIT = 1000
# The shortest lifetime a payin can have: an attempt younger than this plus the grace is never stuck.
SHORTEST_LIFETIME = timedelta(seconds=LIFETIME_RANGE[0])
# Items of each kind one page shows; the count above it is exact.
PAGE_LIMIT = 200

# The reasons reports.py writes into `review_reason`, by how they start: what to do next depends on it.
DOUBLE_PAYMENT_REASON = "order was already paid by another payment"
AMOUNT_REASON_PREFIXES = ("amount ", "currency ", "HighHelp changed the amount")
CONFLICT_REASON_PREFIX = "HighHelp reported "


class ItemKind(enum.StrEnum):
    """Which kind of problem an item is; also the first part of its key."""

    PAYMENT = "payment"  # a payment flagged needs_review
    ALERT = "alert"  # an orphan callback
    STUCK = "stuck"  # an open attempt long past its lifetime


class Problem(enum.StrEnum):
    """What went wrong, so the page can say what to do next."""

    DOUBLE_PAYMENT = "double_payment"
    AMOUNT = "amount"
    CONFLICT = "conflict"
    OTHER = "other"
    ORPHAN = "orphan"
    STUCK = "stuck"


@dataclass(frozen=True)
class ReviewItem:
    """One open item of the queue."""

    kind: ItemKind
    problem: Problem
    # When it happened, as well as is known: the queue is newest first.
    at: datetime
    payment: Payment | None = None
    alert: CallbackAlert | None = None

    @property
    def ref(self) -> int:
        """The row the item is about: the payment's or the alert's id."""
        row = self.alert if self.kind is ItemKind.ALERT else self.payment
        assert row is not None
        return row.id

    @property
    def key(self) -> str:
        """The key its resolution is stored under."""
        if self.kind is ItemKind.PAYMENT and self.payment is not None:
            return payment_item_key(self.payment.id, self.payment.review_reason)
        return f"{self.kind.value}:{self.ref}"


def payment_item_key(payment_ref: int, reason: str | None) -> str:
    """A flagged payment's key names its reason: a new problem later is a new item."""
    return f"{ItemKind.PAYMENT.value}:{payment_ref}:{reason or ''}"


def problem_of(reason: str | None) -> Problem:
    """Sort a stored review reason into the problems the page explains."""
    reason = reason or ""
    if reason == DOUBLE_PAYMENT_REASON:
        return Problem.DOUBLE_PAYMENT
    if reason.startswith(AMOUNT_REASON_PREFIXES):
        return Problem.AMOUNT
    if reason.startswith(CONFLICT_REASON_PREFIX):
        return Problem.CONFLICT
    return Problem.OTHER


def _unresolved(key: ColumnElement[str]) -> ColumnElement[bool]:
    return ~exists().where(ReviewResolution.item_key == key)


def _flagged() -> ColumnElement[bool]:
    key = literal(f"{ItemKind.PAYMENT.value}:") + cast(Payment.id, String) + literal(":")
    return and_(
        Payment.needs_review.is_(True),
        _unresolved(key + func.coalesce(Payment.review_reason, "")),
    )


def _orphan() -> ColumnElement[bool]:
    key = literal(f"{ItemKind.ALERT.value}:") + cast(CallbackAlert.id, String)
    return and_(CallbackAlert.verdict == Verdict.ORPHAN, _unresolved(key))


def _maybe_stuck(now: datetime) -> ColumnElement[bool]:
    # Narrowed in SQL by the shortest lifetime; each attempt's own lifetime is checked in Python.
    key = literal(f"{ItemKind.STUCK.value}:") + cast(Payment.id, String)
    return and_(
        Payment.is_open.is_(True),
        or_(
            Payment.expires_at <= now - STUCK_GRACE,
            and_(Payment.expires_at.is_(None), Payment.created_at <= now - STUCK_GRACE - SHORTEST_LIFETIME),
        ),
        _unresolved(key),
    )


def stuck_since(payment: Payment) -> datetime:
    """When an open attempt's lifetime ended (or would have, had HighHelp ever answered)."""
    return payment.expires_at or payment.created_at + payment.lifetime


def _is_stuck(payment: Payment, now: datetime) -> bool:
    return stuck_since(payment) + STUCK_GRACE <= now


def open_items(limit: int = PAGE_LIMIT) -> list[ReviewItem]:
    """The open items, newest first (at most `limit` of each kind)."""
    now = utcnow()
    items: list[ReviewItem] = []
    flagged = select(Payment).where(_flagged()).order_by(Payment.updated_at.desc()).limit(limit)
    for payment in db.session.execute(flagged).scalars():
        items.append(
            ReviewItem(ItemKind.PAYMENT, problem_of(payment.review_reason), payment.updated_at, payment)
        )
    orphans = select(CallbackAlert).where(_orphan()).order_by(CallbackAlert.id.desc()).limit(limit)
    for alert in db.session.execute(orphans).scalars():
        items.append(ReviewItem(ItemKind.ALERT, Problem.ORPHAN, alert.received_at, alert=alert))
    for payment in _stuck(now)[:limit]:
        items.append(ReviewItem(ItemKind.STUCK, Problem.STUCK, stuck_since(payment), payment))
    return sorted(items, key=lambda item: item.at, reverse=True)


def _stuck(now: datetime) -> list[Payment]:
    # Bounded: during a long outage thousands of attempts may be open, and the dashboard asks on every view.
    candidates = select(Payment).where(_maybe_stuck(now)).order_by(Payment.id.desc()).limit(STUCK_SCAN_LIMIT)
    return [payment for payment in db.session.execute(candidates).scalars() if _is_stuck(payment, now)]


def open_item_count() -> int:
    """How many items wait for a person (what the dashboard shows)."""
    count = 0
    for condition, table in ((_flagged(), Payment), (_orphan(), CallbackAlert)):
        count += db.session.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
    return count + len(_stuck(utcnow()))


def find_item(kind: ItemKind, ref: int) -> ReviewItem | None:
    """The open item of `kind` about row `ref`; None if it is not (or no longer) open."""
    now = utcnow()
    if kind is ItemKind.ALERT:
        alert = db.session.execute(select(CallbackAlert).where(CallbackAlert.id == ref, _orphan())).scalar()
        return ReviewItem(kind, Problem.ORPHAN, alert.received_at, alert=alert) if alert else None
    if kind is ItemKind.PAYMENT:
        payment = db.session.execute(select(Payment).where(Payment.id == ref, _flagged())).scalar()
        if payment is None:
            return None
        return ReviewItem(kind, problem_of(payment.review_reason), payment.updated_at, payment)
    payment = db.session.execute(select(Payment).where(Payment.id == ref, _maybe_stuck(now))).scalar()
    if payment is None or not _is_stuck(payment, now):
        return None
    return ReviewItem(kind, Problem.STUCK, stuck_since(payment), payment)


def resolution_exists(kind: ItemKind, ref: int) -> bool:
    """True when an item of `kind` about row `ref` was resolved (for a payment: its current reason)."""
    if kind is ItemKind.PAYMENT:
        reason = db.session.execute(select(Payment.review_reason).where(Payment.id == ref)).scalar()
        key = payment_item_key(ref, reason)
    else:
        key = f"{kind.value}:{ref}"
    found = db.session.execute(select(ReviewResolution.id).where(ReviewResolution.item_key == key)).scalar()
    return found is not None
