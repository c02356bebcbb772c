"""What staff did, newest first: changes to accounts and actions on payments, for the owner's page."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Event, EventKind

# How many of each the owner's page lists.
AUDIT_LENGTH = 50


def staff_changes() -> list[Event]:
    """The latest additions, role changes and disablings of staff accounts, with who made them."""
    query = (
        select(Event)
        .where(Event.kind == EventKind.STAFF_CHANGED)
        .options(joinedload(Event.staff))
        .order_by(Event.id.desc())
        .limit(AUDIT_LENGTH)
    )
    return list(db.session.execute(query).scalars())


def payment_actions() -> list[Event]:
    """The latest things a person did to orders and payments (links, re-checks, cancels, reviews)."""
    query = (
        select(Event)
        .where(Event.staff_id.is_not(None), Event.kind != EventKind.STAFF_CHANGED)
        .options(joinedload(Event.staff))
        .order_by(Event.id.desc())
        .limit(AUDIT_LENGTH)
    )
    return list(db.session.execute(query).scalars())
