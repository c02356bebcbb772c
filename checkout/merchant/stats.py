"""The dashboard's figures: counts and sums over Almaty days, and payments per hour and per day."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ..extensions import db
from ..highhelp import statuses
from ..highhelp.wire import CURRENCY_KZT
from ..models import Order, OrderStatus, Payment
from ..payments.phases import DeclineReason
from ..payments.review_queue import open_item_count
from . import periods
from .listing import without_jit
from .order_state import decline_reason_sql

HOUR = timedelta(hours=1)
# Every zone offset Almaty has had is a whole number of hours, so UTC hours add up to Almaty days.
HOUR_SECONDS = 3600


class utc_hour(FunctionElement[int]):  # noqa: N801  (named like the SQL functions it stands for)
    """The UTC hour a timestamp falls in, as whole hours since 1970 (the same on every database)."""

    type = BigInteger()
    inherit_cache = True
    name = "utc_hour"


@compiles(utc_hour, "postgresql")
def _utc_hour_postgresql(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"CAST(floor(extract(epoch FROM {column}) / {HOUR_SECONDS}) AS BIGINT)"


@compiles(utc_hour, "sqlite")
def _utc_hour_sqlite(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as UTC text, which strftime reads as UTC.
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {column}) AS INTEGER) / {HOUR_SECONDS})"


@dataclass(frozen=True)
class Period:
    """What happened from `start` until now."""

    start: datetime
    orders: int = 0
    attempts: int = 0
    finished: int = 0  # attempts that reached a final state
    paid_attempts: int = 0
    paid_total: int = 0  # in tiyn: paid orders in ₸, by when they were paid
    declined: dict[DeclineReason, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        """Paid attempts out of those that reached a final state; None before any did."""
        return self.paid_attempts / self.finished if self.finished else None


@dataclass(frozen=True)
class Bucket:
    """One bar of a chart: an hour or a day on Almaty time, with its counts."""

    start: datetime  # on Almaty time
    started: int
    paid: int


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows."""

    today: Period
    week: Period
    pending_now: int
    waiting_review: int
    hours: list[Bucket]
    days: list[Bucket]


def _between(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def period(start: datetime, end: datetime) -> Period:
    """Orders, attempts, outcomes and money from `start` to `end` (UTC instants)."""
    orders = db.session.execute(
        select(func.count()).select_from(Order).where(_between(Order.created_at, start, end))
    ).scalar_one()
    attempts, finished, paid = db.session.execute(
        select(
            func.count(),
            func.count().filter(Payment.is_open.is_(False)),
            func.count().filter(Payment.state == statuses.SUCCESS.key),
        ).where(_between(Payment.created_at, start, end))
    ).one()
    reason = decline_reason_sql(Payment)
    declined = {
        DeclineReason(name): count
        for name, count in db.session.execute(
            select(reason, func.count())
            .where(_between(Payment.created_at, start, end), Payment.state == statuses.DECLINE.key)
            .group_by(reason)
        )
    }
    paid_total = db.session.execute(
        select(func.coalesce(func.sum(Order.amount), 0)).where(
            _between(Order.paid_at, start, end),
            Order.status == OrderStatus.PAID,
            Order.currency == CURRENCY_KZT,
        )
    ).scalar_one()
    return Period(start, orders, attempts, finished, paid, int(paid_total), declined)


def _per_hour(column: Any, start: datetime, end: datetime, *where: ColumnElement[bool]) -> Counter[int]:
    """Rows per UTC hour (hours since 1970) with `column` from `start` to `end`."""
    hour = utc_hour(column)
    rows = db.session.execute(
        select(hour, func.count()).where(_between(column, start, end), *where).group_by(hour)
    )
    return Counter({int(bucket): count for bucket, count in rows})


def _hour_of(bucket: int) -> datetime:
    return datetime.fromtimestamp(bucket * HOUR_SECONDS, UTC)


def charts(now: datetime, hours: int = 24, days: int = 30) -> tuple[list[Bucket], list[Bucket]]:
    """Attempts started and orders paid per Almaty hour (last `hours`) and per day (last `days`)."""
    today = periods.local_date(now)
    first_day = periods.days_back(today, days)[0]
    start = periods.day_start(first_day)
    started = _per_hour(Payment.created_at, start, now + HOUR)
    paid = _per_hour(Order.paid_at, start, now + HOUR, Order.status == OrderStatus.PAID)
    by_day: dict[date, list[int]] = {day: [0, 0] for day in periods.days_back(today, days)}
    for series, counts in ((0, started), (1, paid)):
        for bucket, count in counts.items():
            day = periods.local_date(_hour_of(bucket))
            if day in by_day:
                by_day[day][series] += count
    day_buckets = [
        Bucket(datetime.combine(day, datetime.min.time(), periods.ZONE), *counts)
        for day, counts in by_day.items()
    ]
    this_hour = int(now.timestamp()) // HOUR_SECONDS
    hour_buckets = [
        Bucket(_hour_of(bucket).astimezone(periods.ZONE), started[bucket], paid[bucket])
        for bucket in range(this_hour - hours + 1, this_hour + 1)
    ]
    return hour_buckets, day_buckets


def pending_now() -> int:
    """Attempts HighHelp is working on now (answered, open, not flagged)."""
    return db.session.execute(
        select(func.count()).where(
            Payment.is_open, Payment.form_url.is_not(None), Payment.needs_review.is_(False)
        )
    ).scalar_one()


def dashboard(now: datetime) -> Dashboard:
    """The dashboard as of `now`: today and the last 7 days on Almaty time, and the charts."""
    without_jit()
    today = periods.local_date(now)
    end = now + timedelta(microseconds=1)
    hours, days = charts(now)
    return Dashboard(
        today=period(periods.day_start(today), end),
        week=period(periods.day_start(periods.days_back(today, 7)[0]), end),
        pending_now=pending_now(),
        waiting_review=open_item_count(),
        hours=hours,
        days=days,
    )
