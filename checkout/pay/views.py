"""The order page (HighHelp's redirect_url), its status fragment, and the pay button."""

from __future__ import annotations

import secrets
import time

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from ..extensions import db, limiter
from ..gateway import public_base_url
from ..models import Order
from ..payments.refresh import refresh_if_stale
from ..payments.start import Customer, StartError, latest_attempt, start_payment
from ..ratelimits import PAY_LIMIT_PER_CLIENT, PAY_LIMIT_PER_ORDER, STATUS_LIMIT_PER_ORDER, per_minute
from ..sqltypes import utcnow
from .status import STEPS, payment_view

bp = Blueprint("pay", __name__, url_prefix="/orders")

CUSTOMER_KEY = "customer_id"
# How long a customer is asked to wait when HighHelp is slow or this process is busy with it.
RETRY_AFTER_SECONDS = 5


def _order(token: str) -> Order:
    """The order and its payment attempts in one indexed read (thousands of browsers poll this)."""
    query = select(Order).where(Order.token == token).options(joinedload(Order.payments))
    order = db.session.execute(query).unique().scalar()
    if order is None:
        abort(404)
    return order


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
        abort(400, description=f"since must be a Unix time in seconds from 0 to {LATEST_POLLING_SINCE}")
    return float(raw)


def _render(order: Order, template: str, status: int = 200, error: str | None = None) -> tuple[str, int]:
    since = _polling_since()
    view = payment_view(order, latest_attempt(order), utcnow(), since)
    return render_template(
        template, order=order, view=view, steps=STEPS, since=int(since), error=error
    ), status


@bp.get("/<token>")
def order_page(token: str) -> tuple[str, int]:
    """The order and its payment, from our database; query parameters never change the status."""
    return _render(_order(token), "pay/order.html")


@bp.get("/<token>/status")
@limiter.limit(per_minute(STATUS_LIMIT_PER_ORDER), key_func=_order_token)
def status(token: str) -> tuple[str, int]:
    """The status fragment the order page polls; asks HighHelp only when our status is stale."""
    order = _order(token)
    payment = latest_attempt(order)
    if payment is not None and refresh_if_stale(payment):
        db.session.expire_all()
        order = _order(token)
    return _render(order, "pay/_status.html")


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
    customer = Customer(_customer(), request.remote_addr)
    result = start_payment(order, customer, _callback_urls(order))
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
