"""The sandbox's own tables, kept apart from the app's: payins, callback deliveries, attempts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from ..highhelp.statuses import PayinState
from ..sqlite import tune_sqlite
from ..sqltypes import UtcDateTime, utcnow


class Base(DeclarativeBase):
    """Declarative base of the sandbox tables."""


class SandboxPayin(Base):
    """One payin as HighHelp would hold it."""

    __tablename__ = "sandbox_payins"
    __table_args__ = (UniqueConstraint("project_id", "payment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(32), unique=True)
    form_token: Mapped[str] = mapped_column(String(64), unique=True)
    request_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(2))
    redirect_url: Mapped[str | None] = mapped_column(String(2048))
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    success_url: Mapped[str | None] = mapped_column(String(2048))
    decline_url: Mapped[str | None] = mapped_column(String(2048))
    lifetime: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="processing")
    sub_status: Mapped[str | None] = mapped_column(String(32), default="new")
    status_description: Mapped[str | None] = mapped_column(String(1024))
    # Why a payin was declined, as a code the hosted page translates (see payins.REASONS).
    reason: Mapped[str | None] = mapped_column(String(32))
    operator: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(16))
    otp: Mapped[str | None] = mapped_column(String(8))
    otp_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0)
    resends: Mapped[int] = mapped_column(Integer, default=0)
    scenario: Mapped[str] = mapped_column(String(32), default="success")
    fault_mode: Mapped[str] = mapped_column(String(16), default="none")
    fault_delay: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)

    deliveries: Mapped[list[SandboxDelivery]] = relationship(
        back_populates="payin", order_by="SandboxDelivery.id"
    )

    @property
    def state(self) -> PayinState:
        """The status and sub-status together."""
        return PayinState(self.status, self.sub_status)

    @property
    def is_final(self) -> bool:
        """Success and decline never change."""
        return self.state.is_final

    @property
    def state_key(self) -> str:
        """`status` or `status:sub_status`."""
        return self.state.key


class SandboxDelivery(Base):
    """One signed alert to one merchant URL, with every attempt to deliver it."""

    __tablename__ = "sandbox_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payin_id: Mapped[int] = mapped_column(ForeignKey("sandbox_payins.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2048))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    # held (waiting for the final alert), pending, sending, delivered, failed, dropped
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    payin: Mapped[SandboxPayin] = relationship(back_populates="deliveries")
    attempts: Mapped[list[SandboxAttempt]] = relationship(
        back_populates="delivery", order_by="SandboxAttempt.id"
    )


class SandboxAttempt(Base):
    """One HTTP try of a delivery and what the merchant answered."""

    __tablename__ = "sandbox_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("sandbox_deliveries.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))
    answer: Mapped[str | None] = mapped_column(String(255))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)

    delivery: Mapped[SandboxDelivery] = relationship(back_populates="attempts")


class Store:
    """The sandbox database: an engine and transactions on it."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)
        if self.engine.dialect.name == "sqlite":
            # The sender thread and request threads write at once; take the lock up front.
            tune_sqlite(self.engine, always_immediate=True)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed at the end of the block, or rolled back."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()
