"""The orders list: filters read from the query string, one query, pages by keyset on `orders.id`.

Never OFFSET: a page starts after the last order number of the previous one, so a deep page costs
what the first one does, and new orders arriving meanwhile neither repeat nor skip rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, literal, select, text, union_all

from ..converters import MAX_DATABASE_ID
from ..extensions import db
from ..highhelp.wire import PAYMENT_ID_MAX_LENGTH
from ..models import Order, Payment
from . import periods
from .order_state import FLAGGED, LATEST_ID, OrderState, Standing, decline_reason_sql, latest, state_condition

PAGE_SIZE = 50
# Long enough for any email address; a longer search can match nothing.
SEARCH_MAX_LENGTH = 254
# Rows the CSV fetches from the database at a time (a server-side cursor on PostgreSQL).
STREAM_BATCH = 1000


class FilterError(ValueError):
    """A query string the list cannot use, said so a person can fix it."""


@dataclass(frozen=True)
class Filters:
    """Which orders to list: a state, Almaty dates (inclusive) and a search."""

    state: OrderState | None = None
    date_from: date | None = None
    date_to: date | None = None
    search: str = ""

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses these filters add."""
        found: list[ColumnElement[bool]] = []
        if self.state is not None:
            found.append(state_condition(self.state))
        if self.date_from is not None:
            found.append(Order.created_at >= periods.day_start(self.date_from))
        if self.date_to is not None:
            found.append(Order.created_at < periods.day_start(self.date_to + timedelta(days=1)))
        if self.search:
            found.append(Order.id.in_(_search_matches(self.search)))
        return found

    def args(self) -> dict[str, str]:
        """The query string that gives these filters back (for links and the CSV)."""
        values = {
            "state": self.state.value if self.state else "",
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "q": self.search,
        }
        return {name: value for name, value in values.items() if value}


def _search_matches(search: str) -> Select[tuple[int]]:
    """Order numbers the search names: as an order number, a payment_id, or an email (any case).

    One indexed lookup per reading, joined with UNION ALL: an OR across them would make the
    database walk every order.
    """
    parts: list[Select[tuple[int]]] = []
    if search.isascii() and search.isdigit() and int(search) <= MAX_DATABASE_ID:
        parts.append(select(literal(int(search)).label("id")))
    if len(search) <= PAYMENT_ID_MAX_LENGTH:
        parts.append(select(Payment.order_id).where(Payment.payment_id == search))
    if "@" in search:
        parts.append(select(Order.id).where(func.lower(Order.email) == search.lower()))
    if not parts:
        return select(literal(0).label("id")).where(literal(False))
    return select(union_all(*parts).subquery().c[0])


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Filters from a query string; FilterError for a value that names nothing."""
    raw_state = args.get("state", "")
    try:
        state = OrderState(raw_state) if raw_state else None
    except ValueError:
        names = ", ".join(member.value for member in OrderState)
        raise FilterError(
            _("Unknown state %(state)s: choose one of %(names)s.", state=raw_state[:40], names=names)
        ) from None
    date_from = _date(args.get("from", ""))
    date_to = _date(args.get("to", ""))
    if date_from and date_to and date_from > date_to:
        raise FilterError(_("The first date is after the last one."))
    search = args.get("q", "").strip()
    if len(search) > SEARCH_MAX_LENGTH:
        raise FilterError(_("The search is too long: at most %(count)d characters.", count=SEARCH_MAX_LENGTH))
    if any(not character.isprintable() for character in search):
        raise FilterError(_("The search holds characters no order number, payment or email has."))
    return Filters(state, date_from, date_to, search)


def _date(raw: str) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None or not periods.EARLIEST_DATE <= day <= periods.LATEST_DATE:
        raise FilterError(_("%(value)s is not a date: write it as YYYY-MM-DD.", value=raw[:40]))
    return day


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: before (older than) or after (newer than) an order number, or at the top."""

    before: int | None = None
    after: int | None = None


def parse_cursor(args: Mapping[str, str]) -> Cursor:
    """The page cursor of a query string; FilterError for anything but one order number."""
    before, after = _number(args.get("before")), _number(args.get("after"))
    if before is not None and after is not None:
        raise FilterError(_("A page starts either before or after an order, not both."))
    return Cursor(before, after)


def _number(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= MAX_DATABASE_ID):
        raise FilterError(_("The page link is broken: start again from the first page."))
    return int(raw)


@dataclass(frozen=True)
class OrderRow:
    """One order as the list and the CSV show it."""

    id: int
    created_at: datetime
    amount: int
    currency: str
    email: str | None
    paid_at: datetime | None
    payment_id: str | None
    standing: Standing

    @property
    def state(self) -> OrderState:
        """Where the order stands."""
        return self.standing.state


def rows_query(filters: Filters) -> Select[tuple[object, ...]]:
    """Orders with their latest attempt, filtered, not yet ordered or limited."""
    query = (
        select(
            Order.id,
            Order.created_at,
            Order.amount,
            Order.currency,
            Order.email,
            Order.paid_at,
            Order.status,
            latest.id.label("latest_id"),
            latest.payment_id,
            latest.is_open,
            latest.form_url.is_not(None).label("answered"),
            latest.state,
            decline_reason_sql(latest).label("decline_reason"),
            FLAGGED.label("flagged"),
        )
        .select_from(Order)
        .outerjoin(latest, latest.id == LATEST_ID)
    )
    return query.where(*filters.conditions())


def _row(values: object) -> OrderRow:
    row = values._mapping  # type: ignore[attr-defined]
    standing = Standing(
        order_status=row["status"],
        flagged=bool(row["flagged"]),
        has_attempt=row["latest_id"] is not None,
        is_open=row["is_open"],
        answered=row["answered"],
        payment_state=row["state"],
        decline_reason=row["decline_reason"],
    )
    return OrderRow(
        id=row["id"],
        created_at=row["created_at"],
        amount=row["amount"],
        currency=row["currency"],
        email=row["email"],
        paid_at=row["paid_at"],
        payment_id=row["payment_id"],
        standing=standing,
    )


@dataclass(frozen=True)
class Page:
    """One page of the list and the cursors of its neighbours (None: no such page)."""

    rows: list[OrderRow] = field(default_factory=list)
    older: int | None = None  # link with before=older
    newer: int | None = None  # link with after=newer
    at_top: bool = True


def without_jit() -> None:
    """Turn PostgreSQL's JIT off for this transaction."""
    # A page reads a few hundred index entries in milliseconds, but a rare filter's pessimistic
    # cost estimate would make PostgreSQL spend half a second compiling the query first.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))


def page(filters: Filters, cursor: Cursor, size: int = PAGE_SIZE) -> Page:
    """The page of orders `cursor` names, newest first."""
    without_jit()
    query = rows_query(filters)
    if cursor.after is not None:
        found = [
            _row(values)
            for values in db.session.execute(
                query.where(Order.id > cursor.after).order_by(Order.id.asc()).limit(size + 1)
            )
        ]
        more_newer = len(found) > size
        rows = list(reversed(found[:size]))
        return Page(
            rows,
            older=rows[-1].id if rows else cursor.after + 1,
            newer=rows[0].id if more_newer else None,
            at_top=False,
        )
    if cursor.before is not None:
        query = query.where(Order.id < cursor.before)
    found = [_row(values) for values in db.session.execute(query.order_by(Order.id.desc()).limit(size + 1))]
    rows = found[:size]
    older = rows[-1].id if len(found) > size else None
    if cursor.before is None:
        return Page(rows, older=older)
    # Came from a newer page, so there is one; an empty page still links back to it.
    return Page(rows, older=older, newer=rows[0].id if rows else cursor.before - 1, at_top=False)


def one(order_id: int) -> OrderRow | None:
    """One order as the list shows it; None if there is no such order."""
    values = db.session.execute(rows_query(Filters()).where(Order.id == order_id)).first()
    return _row(values) if values is not None else None


def stream(filters: Filters, batch: int = STREAM_BATCH) -> Iterator[OrderRow]:
    """Every order the filters select, newest first, fetched `batch` rows at a time."""
    query = rows_query(filters).order_by(Order.id.desc()).execution_options(yield_per=batch)
    result = db.session.execute(query)
    try:
        for values in result:
            yield _row(values)
    finally:
        result.close()
