"""Tables: orders, payment attempts at HighHelp and the callback inbox.

Money is an integer count of minor units plus a currency code, never a float. The rules that
keep payments correct live in the database as constraints, not only in Python.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta
from typing import Any

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
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id")
    payments: Mapped[list[Payment]] = relationship(back_populates="order", order_by="Payment.id")

    @property
    def is_paid(self) -> bool:
        """True once a payment with the right amount succeeded."""
        return self.status == OrderStatus.PAID


class OrderLine(db.Model):
    """One product in an order, with its name and price as they were when ordered."""

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(120))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def total(self) -> int:
        """unit price × quantity, in minor units."""
        return self.unit_price * self.quantity


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
