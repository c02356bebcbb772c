"""Test control, only in test mode: read a payin, drive it, and break callback delivery on purpose."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from .api import error_answer
from .callbacks import FAULT_MODES
from .payins import Refusal
from .services import services
from .store import SandboxPayin

bp = Blueprint("control", __name__, url_prefix="/control")


@bp.before_request
def only_in_test_mode() -> None:
    """Outside test mode the control endpoints do not exist."""
    if not services().config.test_mode:
        abort(404)


def describe(payin: SandboxPayin) -> dict[str, Any]:
    """Everything a test may want to know about a payin, its OTP included."""
    return {
        "payment_id": payin.payment_id,
        "state": payin.state_key,
        "status_description": payin.status_description,
        "form_token": payin.form_token,
        "otp": payin.otp,
        "wrong_codes": payin.wrong_codes,
        "resends": payin.resends,
        "fault_mode": payin.fault_mode,
        "deliveries": [
            {
                "kind": delivery.kind,
                "state": delivery.state,
                "status": delivery.body["status"],
                "attempts": [
                    {"http_status": attempt.http_status, "error": attempt.error}
                    for attempt in delivery.attempts
                ],
            }
            for delivery in payin.deliveries
        ],
    }


def _faults() -> tuple[str, float]:
    data = request.get_json(silent=True) or {}
    mode, delay = data.get("mode", "none"), data.get("delay", 3.0)
    if mode not in FAULT_MODES or not isinstance(delay, int | float) or not 0 <= delay <= 600:
        abort(400, description=f"mode must be one of {', '.join(FAULT_MODES)}; delay 0–600 s")
    return mode, float(delay)


@bp.get("/payins/<path:payment_id>")
def show(payment_id: str) -> Response | tuple[Response, int]:
    """A payin with its deliveries and their attempts."""
    payin = services().payins.by_payment_id(payment_id)
    if payin is None:
        return error_answer(404, f"payin {payment_id!r} not found")
    return jsonify(describe(payin))


@bp.post("/faults")
def default_faults() -> Response:
    """How callbacks of payins created from now on are delivered."""
    faults = services().faults
    faults.mode, faults.delay = _faults()
    return jsonify(mode=faults.mode, delay=faults.delay)


@bp.post("/payins/<path:payment_id>/faults")
def payin_faults(payment_id: str) -> Response | tuple[Response, int]:
    """How this payin's next callbacks are delivered."""
    mode, delay = _faults()
    try:
        payin = services().payins.set_faults(payment_id, mode, delay)
    except Refusal as exc:
        return error_answer(exc.http_status, exc.description)
    return jsonify(describe_after(payin.payment_id))


@bp.post("/payins/<path:payment_id>/expire")
def expire(payment_id: str) -> Response | tuple[Response, int]:
    """End the payin's lifetime now."""
    try:
        payin = services().payins.expire_now(payment_id)
    except Refusal as exc:
        return error_answer(exc.http_status, exc.description)
    return jsonify(describe_after(payin.payment_id))


@bp.post("/payins/<path:payment_id>/<any(phone, code, resend, 'change-number', cancel):step>")
def drive(payment_id: str, step: str) -> Response | tuple[Response, int]:
    """Take a payer's step without the HTML page: phone {operator, phone}, code {code}, resend,
    change-number (back to the phone step) or cancel (the payer gives up)."""
    sandbox = services()
    payin = sandbox.payins.by_payment_id(payment_id)
    if payin is None:
        return error_answer(404, f"payin {payment_id!r} not found")
    data = request.get_json(silent=True) or {}
    if step == "phone":
        message = sandbox.payins.submit_phone(
            payin.form_token, str(data.get("operator", "")), str(data.get("phone", ""))
        )
    elif step == "code":
        message = sandbox.payins.submit_code(payin.form_token, str(data.get("code", "")))
    elif step == "change-number":
        message = sandbox.payins.change_number(payin.form_token)
    elif step == "cancel":
        message = sandbox.payins.cancel_by_payer(payin.form_token)
    else:
        message = sandbox.payins.resend(payin.form_token)
    return jsonify(message=message, **describe_after(payment_id))


def describe_after(payment_id: str) -> dict[str, Any]:
    """The payin as it is now, re-read with its deliveries."""
    payin = services().payins.by_payment_id(payment_id)
    assert payin is not None  # it existed a moment ago and payins are never deleted
    return describe(payin)
