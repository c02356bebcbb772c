"""Payment links: an order made by a person, outside the catalogue, paid on the customer's order page."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..database import begin_write
from ..extensions import db
from ..gateway import public_base_url
from ..highhelp import statuses
from ..highhelp.wire import CURRENCY_KZT
from ..models import DESCRIPTION_LENGTH, EventKind, EventSource, Order, OrderLine, StaffUser
from ..money import MINOR_UNITS, format_money
from ..payments import events
from ..payments.phases import DeclineReason, Phase, decline_reason
from ..payments.start import latest_attempt

# HighHelp publishes no upper limit for a mobile-commerce payin; a link above this is far more
# likely a typo (an extra zero, tiyn typed as tenge) than a sale. Whole tenge.
MAX_LINK_AMOUNT_TENGE = 1_000_000
DESCRIPTION_MAX_LENGTH = DESCRIPTION_LENGTH  # Order.description
# How many links the list shows, newest first.
RECENT_LINKS = 50
# "15000", "15 000", "15000,50", "15 000.5": groups of three may be split by a space of any kind.
AMOUNT_PATTERN = re.compile(r"([0-9]+|[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+)(?:[.,]([0-9]{1,2}))?")
AMOUNT_INPUT_MAX_LENGTH = 32
# Text direction overrides can make a description read differently from what is stored.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class LinkError(ValueError):
    """Input a person must correct, said in the page's language."""


def parse_amount(raw: str) -> int:
    """Tenge as typed ("15 000", "15000,50") → minor units; LinkError when it is not a sensible amount."""
    text = raw.strip().removesuffix("₸").strip()
    if not text:
        raise LinkError(_l("Enter the amount in tenge."))
    match = AMOUNT_PATTERN.fullmatch(text) if len(text) <= AMOUNT_INPUT_MAX_LENGTH else None
    if match is None:
        raise LinkError(_l("Enter the amount in tenge, like 15000 or 15 000,50."))
    whole = re.sub(r"\D", "", match.group(1))
    tenge = Decimal(f"{whole}.{match.group(2) or '0'}")
    if tenge <= 0:
        raise LinkError(_l("The amount must be more than zero."))
    if tenge > MAX_LINK_AMOUNT_TENGE:
        maximum = format_money(MAX_LINK_AMOUNT_TENGE * 10 ** MINOR_UNITS[CURRENCY_KZT], CURRENCY_KZT)
        raise LinkError(_l("A payment link can ask for at most %(maximum)s.", maximum=maximum))
    return int(tenge * 10 ** MINOR_UNITS[CURRENCY_KZT])


def check_description(raw: str) -> str:
    """The description as stored: trimmed, required, not too long, without control characters."""
    text = raw.strip()
    if not text:
        raise LinkError(_l("Describe what the customer pays for."))
    if len(text) > DESCRIPTION_MAX_LENGTH:
        raise LinkError(_l("At most %(count)d characters.", count=DESCRIPTION_MAX_LENGTH))
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS for char in text):
        raise LinkError(_l("Use one line of plain text, without control characters."))
    return text


def create_link(amount: int, description: str, language: str, email: str | None, *, by: StaffUser) -> Order:
    """Store the order of a payment link and its ORDER_CREATED event in one transaction. Commits."""
    begin_write()
    order = Order(
        amount=amount,
        currency=CURRENCY_KZT,
        description=description,
        email=email or None,
        language=language,
        created_by_id=by.id,
    )
    order.lines.append(OrderLine(name=description, unit_price=amount, quantity=1))
    db.session.add(order)
    db.session.flush()
    events.record(
        EventKind.ORDER_CREATED,
        EventSource.STAFF,
        f"{by.email} created payment link {order.id} for {format_money(amount, CURRENCY_KZT)}",
        order_id=order.id,
        staff_id=by.id,
        data={
            "amount": amount,
            "currency": CURRENCY_KZT,
            "description": description,
            "language": language,
            "email": email or None,
        },
    )
    db.session.commit()
    return order


def customer_url(order: Order) -> str:
    """The absolute address the customer opens, in the language the link was made for."""
    return public_base_url() + url_for("pay.order_page", token=order.token, lang=order.language)


@dataclass(frozen=True)
class LinkState:
    """Where a link's payment stands, for its badge."""

    phase: Phase
    reason: DeclineReason | None = None

    @property
    def css(self) -> str:
        """The shared `.state-…` class."""
        if self.reason is DeclineReason.EXPIRED:
            return "expired"
        if self.phase is Phase.UNPAID:
            return "not_created"
        return str(self.phase)


def link_state(order: Order) -> LinkState:
    """Paid, waiting, being paid, declined or for review, from the order and its newest attempt."""
    payment = latest_attempt(order)
    if order.is_paid:
        return LinkState(Phase.PAID)
    if payment is None:
        return LinkState(Phase.UNPAID)
    if payment.needs_review:
        return LinkState(Phase.REVIEW)
    if payment.is_open:
        return LinkState(Phase.PENDING if payment.form_url else Phase.NOT_CREATED)
    if payment.state == statuses.DECLINE.key:
        return LinkState(Phase.DECLINED, decline_reason(payment))
    # A final attempt that is neither a decline nor a paid order: only a person can settle it.
    return LinkState(Phase.REVIEW)


def find_link(order_id: int) -> Order | None:
    """The order of a payment link, or None for an unknown id or a catalogue order."""
    order = db.session.get(Order, order_id)
    return order if order is not None and order.created_by_id is not None else None


def creator(order: Order) -> StaffUser | None:
    """Who made the link."""
    return db.session.get(StaffUser, order.created_by_id) if order.created_by_id else None


def recent_links() -> list[tuple[Order, StaffUser]]:
    """The newest links with their creators, newest first."""
    query = (
        select(Order, StaffUser)
        .join(StaffUser, Order.created_by_id == StaffUser.id)
        # Said outright so the planner takes the partial index of staff-made orders.
        .where(Order.created_by_id.is_not(None))
        .options(selectinload(Order.payments))
        .order_by(Order.id.desc())
        .limit(RECENT_LINKS)
    )
    return [(order, staff) for order, staff in db.session.execute(query).tuples()]
