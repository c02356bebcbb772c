"""The orders list, its live rows and its CSV export."""

from __future__ import annotations

import time

from flask import Response, abort, render_template, request, stream_with_context
from flask_babel import gettext as _

from ..sqltypes import utcnow
from . import csv_export, listing, periods
from .blueprint import bp
from .order_state import STATE_LABELS, OrderState

# A pending row asks for itself this often, then more slowly once it has been watched a minute.
FAST_POLL_SECONDS = 3
SLOW_POLL_SECONDS = 10
SLOW_DOWN_AFTER = 60
# The latest `since` taken, in Unix seconds: beyond any real page load, still an ordinary number.
LATEST_POLLING_SINCE = 2**32


def _filters() -> listing.Filters:
    try:
        return listing.parse_filters(request.args)
    except listing.FilterError as exc:
        abort(400, description=str(exc))


def _cursor() -> listing.Cursor:
    try:
        return listing.parse_cursor(request.args)
    except listing.FilterError as exc:
        abort(400, description=str(exc))


def _polling_since() -> float:
    """When the list started watching the row (paces polling only)."""
    raw = request.args.get("since")
    if raw is None:
        return time.time()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= LATEST_POLLING_SINCE):
        abort(400, description=_("since must be a Unix time in whole seconds."))
    return float(raw)


def poll_seconds(row: listing.OrderRow, since: float) -> int | None:
    """How soon a row asks for itself again; None once final, which stops its polling."""
    if row.state is not OrderState.PENDING:
        return None
    return FAST_POLL_SECONDS if time.time() - since < SLOW_DOWN_AFTER else SLOW_POLL_SECONDS


def _row_context(since: float) -> dict[str, object]:
    return {
        "since": int(since),
        "poll_seconds": lambda row: poll_seconds(row, since),
        "state_labels": STATE_LABELS,
    }


@bp.get("/orders")
def orders() -> str:
    """Orders, newest first, filtered and searched, a page at a time."""
    filters, cursor = _filters(), _cursor()
    shown = listing.page(filters, cursor)
    return render_template(
        "merchant/orders.html",
        page=shown,
        filters=filters,
        filter_args=filters.args(),
        states=list(OrderState),
        **_row_context(time.time()),
    )


@bp.get("/orders/<id:number>/row")
def order_row(number: int) -> str:
    """One row of the list, as it is now; while pending, it asks for itself again."""
    row = listing.one(number)
    if row is None:
        abort(404)
    return render_template("merchant/_order_row.html", row=row, **_row_context(_polling_since()))


@bp.get("/orders.csv")
def orders_csv() -> Response:
    """Every order the filters select, as CSV, streamed a batch of rows at a time."""
    filters = _filters()
    raw_separator = request.args.get("sep", csv_export.Separator.SEMICOLON.value)
    try:
        separator = csv_export.Separator(raw_separator)
    except ValueError:
        abort(400, description=_("sep must be semicolon or comma."))
    body = stream_with_context(csv_export.lines(listing.stream(filters), separator))
    response = Response(body, mimetype="text/csv")
    name = csv_export.filename(periods.local_date(utcnow()))
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    # Staff data: no shared cache keeps a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response
