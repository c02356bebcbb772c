"""Tables: orders, payment attempts at HighHelp and the callback inbox.

Money is an integer count of minor units plus a currency code, never a float. The rules that
keep payments correct live in the database as constraints, not only in Python.
"""

from __future__ import annotations

import secrets
from datetime import datetime
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
from .sqltypes import UtcDateTime, utcnow


def new_token() -> str:
    """An unguessable token for URLs the customer sees."""
    return secrets.token_urlsafe(32)


class Order(db.Model):
    """What the customer buys; paid once one of its payments succeeds."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3 AND currency = upper(currency)", name="currency_code"),
        CheckConstraint("status IN ('open', 'paid')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    payments: Mapped[list[Payment]] = relationship(back_populates="order", order_by="Payment.id")


class Payment(db.Model):
    """One attempt to pay an order through HighHelp, under our own payment_id."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3 AND currency = upper(currency)", name="currency_code"),
        # One open attempt per order: a double click can never create a second payin.
        Index(
            "uq_payments_open_attempt_per_order",
            "order_id",
            unique=True,
            sqlite_where=text("is_open = 1"),
            postgresql_where=text("is_open"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(255), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # HighHelp's state as `status` or `status:sub_status`; NULL until HighHelp has answered.
    state: Mapped[str | None] = mapped_column(String(80), index=True)
    is_open: Mapped[bool] = mapped_column(default=True)
    needs_review: Mapped[bool] = mapped_column(default=False)
    request_id: Mapped[str | None] = mapped_column(String(32))
    form_url: Mapped[str | None] = mapped_column(String(2048))
    last_error: Mapped[str | None] = mapped_column(String(1024))
    # Bumped on every change, so an update can check nobody else changed the row first.
    version: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(back_populates="payments")


class CallbackAlert(db.Model):
    """Every signed alert HighHelp sent, once per idempotency key, with what we did about it."""

    __tablename__ = "callback_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # `{project_id}:{payment_id}:{status}:{sub_status}`; a repeat with the same key is a duplicate.
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    payment_id: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(80))
    verdict: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
