"""Order detail with every attempt's timeline, and the staff actions on an attempt."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import Order, Payment, StaffUser
from ..payments import actions
from ..payments.actions import ActionOutcome, ActionResult
from . import words
from .access import acting, staff
from .attempt_state import attempt_badge, order_badge
from .blueprint import bp
from .timeline import history


def _order(number: int) -> Order:
    order = db.session.get(Order, number)
    if order is None:
        abort(404, description=_("There is no order with this number."))
    return order


def _attempt(ref: int) -> Payment:
    payment = db.session.get(Payment, ref)
    if payment is None:
        abort(404, description=_("There is no such payment attempt."))
    return payment


@bp.get("/orders/<id:number>")
def order_detail(number: int) -> str:
    """An order, its lines and customer, and every attempt with its timeline."""
    order = _order(number)
    created_by = db.session.get(StaffUser, order.created_by_id) if order.created_by_id else None
    return render_template(
        "merchant/order.html",
        order=order,
        badge=order_badge(order),
        created_by=created_by,
        history=history(order),
        attempt_badge=attempt_badge,
        can_cancel=actions.can_cancel,
        can_confirm=actions.can_confirm,
        words=words,
    )


def _back_to(payment: Payment) -> Response:
    anchor = f"attempt-{payment.id}"
    return redirect(url_for("merchant.order_detail", number=payment.order_id, _anchor=anchor), code=303)


def _say(result: ActionResult) -> None:
    """Flash what HighHelp said, or why nothing happened, in plain words."""
    if result.outcome is ActionOutcome.ANSWERED:
        message = _("HighHelp says: %(state)s.", state=words.highhelp_state(result.state))
        if result.transition is not None:
            message += " " + str(words.OUTCOMES[result.transition.outcome])
        if result.description:
            message += " " + _("HighHelp's words: %(words)s", words=result.description)
        flash(message, "success")
        return
    category = "info" if result.outcome is ActionOutcome.NOT_ALLOWED else "error"
    flash(str(words.ACTION_FAILURES[result.outcome]) % {"reason": result.description or "—"}, category)


@bp.post("/payments/<id:ref>/recheck")
@acting
def recheck(ref: int) -> Response:
    """Ask HighHelp about the attempt now and apply its answer."""
    payment = _attempt(ref)
    _say(actions.recheck(payment, staff().id))
    return _back_to(payment)


@bp.route("/payments/<id:ref>/cancel", methods=["GET", "POST"])
@acting
def cancel(ref: int) -> Response | str:
    """Confirm, then ask HighHelp to cancel the attempt; only its answer changes anything."""
    payment = _attempt(ref)
    if not actions.can_cancel(payment):
        flash(str(words.ACTION_FAILURES[ActionOutcome.NOT_ALLOWED]), "info")
        return _back_to(payment)
    if request.method == "GET":
        return render_template("merchant/cancel.html", payment=payment, order=payment.order)
    _say(actions.cancel(payment, staff().id))
    return _back_to(payment)


@bp.post("/payments/<id:ref>/confirm")
@acting
def confirm(ref: int) -> Response:
    """Ask HighHelp to finish a payment the operator has paid."""
    payment = _attempt(ref)
    _say(actions.confirm(payment, staff().id))
    return _back_to(payment)
