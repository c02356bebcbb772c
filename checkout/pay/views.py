"""The order page (HighHelp's redirect_url), its status updates, and the pay and cancel buttons."""

from __future__ import annotations

import dataclasses
import enum
import functools
import secrets
import time
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from .. import logs
from ..extensions import db, limiter
from ..gateway import public_base_url
from ..i18n import current_language
from ..models import Order
from ..payments import actions
from ..payments.actions import ActionOutcome
from ..payments.refresh import refresh_if_stale
from ..payments.start import Customer, StartError, latest_attempt, start_payment
from ..ratelimits import PAY_LIMIT_PER_CLIENT, PAY_LIMIT_PER_ORDER, STATUS_LIMIT_PER_ORDER, per_minute
from ..sqltypes import utcnow
from .cancelling import cancelled_by_customer
from .reading import without_transaction
from .status import STEPS, PaymentView, Phase, payment_view

bp = Blueprint("pay", __name__, url_prefix="/orders")

CUSTOMER_KEY = "customer_id"
# The bound parameter of the order's read.
TOKEN_PARAMETER = "token"
# How long a customer is asked to wait when HighHelp is slow or this process is busy with it.
RETRY_AFTER_SECONDS = 5


class OrderRead(enum.Enum):
    """How much of an order a handler reads with it, in one indexed read."""

    POLL = "poll"  # its attempts, read outside a transaction (reading.py)
    PAGE = "page"  # the same and its lines
    ACTION = "action"  # its attempts, in the transaction of a handler that may write


@functools.cache
def _order_query(read: OrderRead) -> Select[tuple[Order]]:
    """The read of an order by its token, built once: building it costs about as much as running it."""
    loads = [joinedload(Order.payments), *([joinedload(Order.lines)] if read is OrderRead.PAGE else [])]
    return select(Order).where(Order.token == bindparam(TOKEN_PARAMETER)).options(*loads)


def _order(token: str, read: OrderRead = OrderRead.ACTION) -> Order:
    """The order and what `read` says of it, in one indexed read: thousands of browsers poll this."""
    if read is not OrderRead.ACTION:
        without_transaction()
    order = db.session.execute(_order_query(read), {TOKEN_PARAMETER: token}).unique().scalar()
    if order is None:
        abort(404)
    _log_context(order)
    return order


def _log_context(order: Order) -> None:
    """The order and its latest attempt go on every log line of this request, its `request` line too."""
    attempt = latest_attempt(order)
    logs.bind(order=order.id, payment_id=attempt.payment_id if attempt is not None else None)


def _order_token() -> str:
    return str((request.view_args or {}).get("token", ""))


# The latest `since` taken, in Unix seconds: far beyond any real page load, and small enough that
# the templates' int(since) and the polling arithmetic stay ordinary numbers.
LATEST_POLLING_SINCE = 2**32


def _polling_since() -> float:
    """When this page started following the payment (only paces polling; never the status)."""
    raw = request.args.get("since")
    if raw is None:
        return time.time()
    # ASCII digits with at most one point: float() alone would also take inf, nan, 1e309, 1_000.
    digits = raw.replace(".", "", 1)
    if not (digits.isascii() and digits.isdigit()) or float(raw) > LATEST_POLLING_SINCE:
        abort(
            400,
            description=_(
                "since must be a Unix time in seconds from 0 to %(latest)s", latest=LATEST_POLLING_SINCE
            ),
        )
    return float(raw)


class CancelProblem(enum.StrEnum):
    """Why "Cancel this payment" changed nothing, for the page to say."""

    NOTHING_OPEN = "nothing_open"  # no attempt in progress (a stale page or a crafted POST)
    REFUSED = "refused"  # HighHelp said no: it may have gone through already
    UNAVAILABLE = "unavailable"  # HighHelp did not answer usably: the attempt is still open
    BUSY = "busy"  # every slot to HighHelp was taken: nothing was sent


CANCEL_PROBLEMS = {
    ActionOutcome.NOT_ALLOWED: CancelProblem.NOTHING_OPEN,
    ActionOutcome.REFUSED: CancelProblem.REFUSED,
    ActionOutcome.UNAVAILABLE: CancelProblem.UNAVAILABLE,
    ActionOutcome.BUSY: CancelProblem.BUSY,
}
# The poll's query parameters: what the page shows now, so an unchanged status costs one 204.
SHOWN_MESSAGE = "shown"
SHOWN_DETAILS = "details"
SHOWN_PACE = "every"
# htmx's response header that overrides the poller's hx-swap for one answer.
RESWAP_HEADER = "HX-Reswap"
RESWAP_NONE = "none"


def _view(order: Order, since: float, now: datetime) -> PaymentView:
    view = payment_view(order, latest_attempt(order), now, since)
    if view.phase is Phase.DECLINED and view.payment is not None and cancelled_by_customer(view.payment):
        return dataclasses.replace(view, cancelled=True)
    return view


def _poll_url(order: Order, view: PaymentView, since: float) -> str | None:
    """Where the page asks what changed, carrying what it shows now; None once final (no polling)."""
    if not view.poll_seconds:
        return None
    shown = {SHOWN_MESSAGE: view.message_key, SHOWN_DETAILS: view.details_key, SHOWN_PACE: view.poll_seconds}
    return url_for("pay.status", token=order.token, since=int(since), lang=current_language(), **shown)


def _page(order: Order, template: str, since: float, now: datetime, **values: Any) -> str:
    view = _view(order, since, now)
    return render_template(
        template,
        order=order,
        view=view,
        steps=STEPS,
        now=now,
        poll_url=_poll_url(order, view, since),
        **values,
    )


def _render(order: Order, template: str, status: int = 200, **notices: str | None) -> tuple[str, int]:
    return _page(order, template, _polling_since(), utcnow(), **notices), status


@bp.get("/<token>")
def order_page(token: str) -> tuple[str, int]:
    """The order and its payment, from our database; query parameters never change the status."""
    return _render(_order(token, OrderRead.PAGE), "pay/order.html")


@bp.get("/<token>/status")
@limiter.limit(per_minute(STATUS_LIMIT_PER_ORDER), key_func=_order_token)
def status(token: str) -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    """What changed since the page's last update, or 204; asks HighHelp only when our status is stale."""
    order = _order(token, OrderRead.POLL)
    payment = latest_attempt(order)
    if payment is not None and refresh_if_stale(payment):
        db.session.expire_all()
        order = _order(token, OrderRead.POLL)
    since, now = _polling_since(), utcnow()
    view = _view(order, since, now)
    message = request.args.get(SHOWN_MESSAGE) != view.message_key
    details = request.args.get(SHOWN_DETAILS) != view.details_key
    pace = request.args.get(SHOWN_PACE) != str(view.poll_seconds or "")
    if not (message or details or pace):
        # Nothing to say: htmx swaps nothing on a 204, so focus and the live region stay untouched.
        return "", 204
    page = _page(order, "pay/_update.html", since, now, message_changed=message, details_changed=details)
    if message:
        return page, 200, {}
    # Only out-of-band parts: without this htmx would empty the live region into which it swaps the rest.
    return page, 200, {RESWAP_HEADER: RESWAP_NONE}


def _customer() -> str:
    if CUSTOMER_KEY not in session:
        session[CUSTOMER_KEY] = f"cus_{secrets.token_hex(8)}"
    return str(session[CUSTOMER_KEY])


def _callback_urls(order: Order) -> dict[str, str]:
    base = public_base_url()
    return {
        "merchant_callback_url": base + url_for("callbacks.receive", kind="info"),
        "merchant_success_callback_url": base + url_for("callbacks.receive", kind="success"),
        "merchant_decline_callback_url": base + url_for("callbacks.receive", kind="decline"),
        "redirect_url": base + url_for("pay.order_page", token=order.token),
    }


@bp.post("/<token>/pay")
@limiter.limit(per_minute(PAY_LIMIT_PER_CLIENT))
@limiter.limit(per_minute(PAY_LIMIT_PER_ORDER), key_func=_order_token)
def pay(token: str) -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Start (or resume) paying the order and send the browser to HighHelp's page."""
    order = _order(token)
    customer = Customer(_customer(), request.remote_addr, current_language())
    result = start_payment(order, customer, _callback_urls(order))
    _log_context(order)  # the attempt this press started or resumed
    if result.form_url:
        return redirect(result.form_url, code=303)
    if result.error is None:
        return redirect(url_for("pay.order_page", token=order.token), code=303)
    db.session.expire_all()
    page, status = _render(_order(token), "pay/order.html", status=503, error=result.error)
    if result.error is StartError.REFUSED:
        return page, status
    # Unavailable or busy: the same press will work shortly, under the same payment_id.
    return page, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


@bp.post("/<token>/cancel")
@limiter.limit(per_minute(PAY_LIMIT_PER_CLIENT))
@limiter.limit(per_minute(PAY_LIMIT_PER_ORDER), key_func=_order_token)
def cancel(token: str) -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Give up the attempt in progress: HighHelp's /cancel, then its answer; "Pay" starts afresh."""
    order = _order(token)
    view = _view(order, time.time(), utcnow())
    if not view.can_cancel or view.payment is None:
        # A stale page or a crafted POST: nothing goes to HighHelp.
        return _render(order, "pay/order.html", status=409, cancel_problem=CancelProblem.NOTHING_OPEN)
    result = actions.cancel_for_customer(view.payment, _customer())
    db.session.expire_all()
    order = _order(token)
    if result.outcome is ActionOutcome.ANSWERED:
        if _view(order, time.time(), utcnow()).can_cancel:
            # HighHelp answered but has not closed the attempt: say so rather than look ignored.
            flash(_("The payment service has not closed this payment yet. This page will show when it does."))
        return redirect(url_for("pay.order_page", token=order.token), code=303)
    problem = CANCEL_PROBLEMS[result.outcome]
    if problem in (CancelProblem.NOTHING_OPEN, CancelProblem.REFUSED):
        return _render(order, "pay/order.html", status=409, cancel_problem=problem)
    page, status = _render(order, "pay/order.html", status=503, cancel_problem=problem)
    return page, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}
