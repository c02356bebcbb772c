"""Tables: orders, payment attempts at HighHelp and the callback inbox.

Money is an integer count of minor units plus a currency code, never a float. The rules that
keep payments correct live in the database as constraints, not only in Python.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .highhelp import assumed
from .highhelp.wire import DEFAULT_LIFETIME, PAYMENT_ID_MAX_LENGTH
from .payments.alerts import STORED_VERDICTS, AlertKind
from .sqltypes import UtcDateTime, sql_in, utcnow

# Why the last call about a payment failed, as much as is kept.
LAST_ERROR_LENGTH = 1024
# A currency is an ISO 4217 code: three capital letters.
CURRENCY_CODE = "length(currency) = 3 AND currency = upper(currency)"
# HighHelp's state as `status:sub_status`, each part as long as HighHelp may send it.
STATE_LENGTH = 2 * assumed.STATUS_MAX_LENGTH + 1
# `{project_id}:{payment_id}:{status}:{sub_status}`.
ALERT_KEY_LENGTH = assumed.PROJECT_ID_MAX_LENGTH + PAYMENT_ID_MAX_LENGTH + STATE_LENGTH + 2


EMAIL_LENGTH = 254
# An order's description and a line's name: a payment link's line is named with its description.
DESCRIPTION_LENGTH = 255


class OrderStatus(enum.StrEnum):
    """Whether an order is still to be paid."""

    OPEN = "open"
    PAID = "paid"


def new_token() -> str:
    """An unguessable token for URLs the customer sees."""
    return secrets.token_urlsafe(32)


class Product(db.Model):
    """Something the shop sells, named in each of its languages."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint(CURRENCY_CODE, name="currency_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name_kk: Mapped[str] = mapped_column(String(120))
    name_ru: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description_kk: Mapped[str] = mapped_column(Text)
    description_ru: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    image: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)

    def name(self, language: str) -> str:
        """The product's name in `language` (kk, ru or en)."""
        return str(getattr(self, f"name_{language}", self.name_en))

    def description(self, language: str) -> str:
        """The product's description in `language`."""
        return str(getattr(self, f"description_{language}", self.description_en))


class Order(db.Model):
    """What the customer buys; paid once one of its payments succeeds."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(CURRENCY_CODE, name="currency_code"),
        CheckConstraint(sql_in("status", OrderStatus), name="status_known"),
        # The back office: date ranges, the dashboard's days, and search by email in any case.
        Index("ix_orders_created_at", "created_at"),
        # The payment links page: the newest orders made by staff.
        Index(
            "ix_orders_payment_links",
            "id",
            sqlite_where=text("created_by_id IS NOT NULL"),
            postgresql_where=text("created_by_id IS NOT NULL"),
        ),
        Index("ix_orders_paid_at", "paid_at"),
        # PostgreSQL only: SQLite cannot reflect an index on an expression, and a shop on SQLite
        # is never large enough to need it.
        Index("ix_orders_email_lower", text("lower(email)")).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LENGTH))
    email: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set on a payment link: the staff member who created the order outside the catalogue.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id")
    payments: Mapped[list[Payment]] = relationship(back_populates="order", order_by="Payment.id")

    @property
    def is_paid(self) -> bool:
        """True once a payment with the right amount succeeded."""
        return self.status == OrderStatus.PAID


class OrderLine(db.Model):
    """One product in an order, with its price as it was when ordered."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(DESCRIPTION_LENGTH))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines")
    # Joined: every page that shows a line shows its name, so no query per line.
    product: Mapped[Product | None] = relationship(lazy="joined")

    @property
    def total(self) -> int:
        """unit price × quantity, in minor units."""
        return self.unit_price * self.quantity

    def display_name(self, language: str) -> str:
        """The line's name in `language`: the product's own translation, else the name as written."""
        # A payment link's line has no product: staff wrote its name in the customer's language.
        return self.name if self.product is None else self.product.name(language)


class Payment(db.Model):
    """One attempt to pay an order through HighHelp, under our own payment_id."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(CURRENCY_CODE, name="currency_code"),
        # One open attempt per order: a double click can never create a second payin.
        Index(
            "uq_payments_open_attempt_per_order",
            "order_id",
            unique=True,
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
        # The reconciler's sweep: open attempts by how long their state has not moved.
        Index(
            "ix_payments_open_state_changed_at",
            "state_changed_at",
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
        # The back office: attempts started per hour and day, and orders with a flagged attempt.
        Index("ix_payments_created_at", "created_at"),
        Index(
            "ix_payments_needs_review_order_id",
            "order_id",
            sqlite_where=text("needs_review = 1"),
            postgresql_where=text("needs_review"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(PAYMENT_ID_MAX_LENGTH), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # HighHelp's state as `status` or `status:sub_status`; NULL until HighHelp has answered.
    state: Mapped[str | None] = mapped_column(String(STATE_LENGTH), index=True)
    is_open: Mapped[bool] = mapped_column(default=True)
    needs_review: Mapped[bool] = mapped_column(default=False)
    request_id: Mapped[str | None] = mapped_column(String(32))
    form_url: Mapped[str | None] = mapped_column(String(2048))
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_LENGTH))
    # The exact create request, so every retry under this payment_id sends the same content.
    request_body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # HighHelp's own words about the last status, and the step a declined payin was at.
    status_description: Mapped[str | None] = mapped_column(String(assumed.DESCRIPTION_STORED_LENGTH))
    decline_step: Mapped[str | None] = mapped_column(String(STATE_LENGTH))
    # Why a person must look at this payment (amount mismatch, success after another success…).
    review_reason: Mapped[str | None] = mapped_column(String(255))
    # When someone last asked HighHelp about it; claimed so one call serves every poller.
    last_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Bumped on every change, so an update can check nobody else changed the row first.
    version: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When the row last changed in any way, a status check included.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # When HighHelp's state last moved: staleness and reconciliation count from here, never
    # from a check that found nothing new.
    state_changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="payments")

    @property
    def lifetime(self) -> timedelta:
        """How long HighHelp keeps this payin alive, as its create request asked."""
        asked = self.request_body.get("payment", {}).get("lifetime", DEFAULT_LIFETIME)
        return timedelta(seconds=int(asked))


class CallbackAlert(db.Model):
    """Every signed alert HighHelp sent, once per idempotency key, with what we did about it."""

    __tablename__ = "callback_alerts"
    __table_args__ = (
        CheckConstraint(sql_in("kind", AlertKind), name="kind_known"),
        CheckConstraint(sql_in("verdict", STORED_VERDICTS), name="verdict_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # `{project_id}:{payment_id}:{status}:{sub_status}` as the signature writes each part (null
    # as "None"); a repeat with the same key is a duplicate.
    idempotency_key: Mapped[str] = mapped_column(String(ALERT_KEY_LENGTH), unique=True)
    payment_id: Mapped[str] = mapped_column(String(PAYMENT_ID_MAX_LENGTH), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(STATE_LENGTH))
    verdict: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StaffRole(enum.StrEnum):
    """What a member of the merchant's staff may do in the back office."""

    VIEWER = "viewer"  # sees everything, changes nothing
    OPERATOR = "operator"  # also acts on payments and creates payment links
    OWNER = "owner"  # also manages staff

    @property
    def can_act(self) -> bool:
        """True for roles that may act on payments."""
        return self in (StaffRole.OPERATOR, StaffRole.OWNER)

    @property
    def can_manage_staff(self) -> bool:
        """True for the role that adds, changes and disables staff."""
        return self is StaffRole.OWNER


class StaffUser(UserMixin, db.Model):
    """A person who signs in to the back office."""

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(sql_in("role", StaffRole), name="role_known"),
        CheckConstraint("email = lower(email)", name="email_lower"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of every session's id: changing it (new password, new role, disabled) signs out
    # every session of this person at their next request.
    session_token: Mapped[str] = mapped_column(String(64), default=new_token)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """Flask-Login refuses a disabled account."""
        return self.active

    @property
    def staff_role(self) -> StaffRole:
        """The role as its enum."""
        return StaffRole(self.role)

    def get_id(self) -> str:
        """The session's reference to this person: stale once the session token changes."""
        return f"{self.id}:{self.session_token}"


class EventKind(enum.StrEnum):
    """What one entry of an order's timeline records."""

    ORDER_CREATED = "order_created"  # a payment link, by a person
    CREATE_SENT = "create_sent"  # our create request and HighHelp's answer
    CREATE_FAILED = "create_failed"  # a create that got no usable answer; retried under the same id
    CALLBACK = "callback"  # a signed alert from HighHelp and what we did with it
    INFO_READ = "info_read"  # an /info answer (or failure) and what we did with it
    CANCEL = "cancel"  # a person's /cancel and HighHelp's answer
    CONFIRM = "confirm"  # a person's /confirm and HighHelp's answer
    REVIEW_RESOLVED = "review_resolved"  # a person settled an item of the review queue
    STAFF_CHANGED = "staff_changed"  # an owner added, changed or disabled a member of staff


class EventSource(enum.StrEnum):
    """Who caused an event."""

    CUSTOMER = "customer"  # the customer's pay button or return page
    HIGHHELP = "highhelp"  # a callback
    RECONCILER = "reconciler"  # the background sweep
    STAFF = "staff"  # a person in the back office


class Event(db.Model):
    """One line of the append-only history: written in the transaction of the change it records."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(sql_in("kind", EventKind), name="kind_known"),
        CheckConstraint(sql_in("source", EventSource), name="source_known"),
        Index("ix_events_order_id_id", "order_id", "id"),
        # The staff page's audit trail reads the newest lines of one kind.
        Index("ix_events_kind_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    payment_ref: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("callback_alerts.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    # One line a person reads: what happened and what we did.
    summary: Mapped[str] = mapped_column(String(1024))
    # The exchange itself: the request we sent (secrets redacted) and the answer, as JSON.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    staff: Mapped[StaffUser | None] = relationship()


class ReviewResolution(db.Model):
    """A person's note that settles one item of the review queue; one per item."""

    __tablename__ = "review_resolutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Which item: `payment:<id>:<reason>`, `alert:<id>` or `stuck:<id>` (see merchant/review.py).
    item_key: Mapped[str] = mapped_column(String(512), unique=True)
    payment_ref: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("callback_alerts.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    staff: Mapped[StaffUser] = relationship()


class MailKind(enum.StrEnum):
    """What an outgoing email is."""

    RECEIPT = "receipt"  # to the customer, once their order is paid


class MailStatus(enum.StrEnum):
    """Where an outgoing email is."""

    PENDING = "pending"  # waiting for its next attempt
    SENT = "sent"  # the mail server accepted it
    FAILED = "failed"  # given up (refused for good, or out of attempts): a person looks


class OutgoingMail(db.Model):
    """An email to send, queued in the transaction of the change it tells about; the worker sends it."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (
        CheckConstraint(sql_in("kind", MailKind), name="kind_known"),
        CheckConstraint(sql_in("status", MailStatus), name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # One receipt per order, however many reports (and processes) find it paid.
        Index("uq_outgoing_mail_order_id_kind", "order_id", "kind", unique=True),
        # The drain: pending messages by when they are due.
        Index(
            "ix_outgoing_mail_pending_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    # The payment that paid the order: its number is on the receipt.
    payment_ref: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    recipient: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.PENDING)
    # Counted when a sender claims the message, so a crash mid-send counts too.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Not before then: the backoff after a failure, or the claim of a sender at work on it.
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Why the last attempt failed, as the mail server said it (addresses masked, never a password).
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    order: Mapped[Order] = relationship()
    payment: Mapped[Payment | None] = relationship()
