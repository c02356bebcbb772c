"""The hosted payment page at form_url: operator and phone, the SMS code, the result."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..countdown import format_clock
from ..highhelp import statuses
from ..money import format_money
from . import scenarios, texts
from .payins import MAX_RESENDS, MAX_WRONG_CODES, WAITING_FOR_CODE
from .services import services
from .store import SandboxPayin

bp = Blueprint("hosted", __name__, url_prefix="/pay")

# Messages a step may leave for the next page view; anything else in ?m= is ignored.
MESSAGES = frozenset({"bad_phone", "bad_operator", "wrong_code", "empty_code", "resend_in", "new_code_sent"})
ERRORS = frozenset({"bad_phone", "bad_operator", "wrong_code", "empty_code", "resend_in"})


def phase_of(payin: SandboxPayin) -> str:
    """Which screen the payer sees."""
    state = payin.state
    if state == statuses.SUCCESS:
        return "success"
    if state == statuses.DECLINE:
        return "declined"
    if state == statuses.NEW:
        return "phone"
    if state in WAITING_FOR_CODE:
        return "code"
    return "checking"


@bp.get("/<token>")
def page(token: str) -> str | tuple[str, int]:
    """The page for the payin's current step, in the payer's language."""
    sandbox = services()
    payin = sandbox.payins.by_token(token)
    language = texts.choose_language(request.args.get("lang"), payin.language if payin else None)

    def t(key: str, **values: object) -> str:
        return texts.text(language, key, **values)

    if payin is None:
        return render_template("not_found.html", t=t, language=language), 404
    message = request.args.get("m") if request.args.get("m") in MESSAGES else None
    seconds_left = int((payin.expires_at - sandbox.payins.clock()).total_seconds())
    return render_template(
        "page.html",
        t=t,
        language=language,
        payin=payin,
        phase=phase_of(payin),
        amount=format_money(payin.amount, payin.currency),
        time_left=format_clock(seconds_left),
        seconds_left=max(0, seconds_left),
        resend_wait=sandbox.payins.resend_wait(payin),
        attempts_left=MAX_WRONG_CODES - payin.wrong_codes,
        resends_left=MAX_RESENDS - payin.resends,
        phone=scenarios.format_phone(payin.phone) if payin.phone else "",
        operators=scenarios.OPERATORS,
        test_numbers=[(scenarios.format_phone(s.phone), s.summary) for s in scenarios.SCENARIOS],
        message=message,
        message_is_error=message in ERRORS,
        return_seconds=sandbox.config.return_seconds,
        refresh_seconds=2,
    )


def _back_to_page(token: str, message: str | None) -> Response:
    if message == "not_found":
        abort(404)
    lang = request.args.get("lang")
    target = url_for("hosted.page", token=token, m=message, lang=lang if lang in texts.LANGUAGES else None)
    return redirect(target, code=303)


@bp.post("/<token>/phone")
def submit_phone(token: str) -> Response:
    """The payer picked an operator and typed a number."""
    form = request.form
    return _back_to_page(
        token, services().payins.submit_phone(token, form.get("operator", ""), form.get("phone", ""))
    )


@bp.post("/<token>/code")
def submit_code(token: str) -> Response:
    """The payer typed the code from the SMS."""
    return _back_to_page(token, services().payins.submit_code(token, request.form.get("code", "")))


@bp.post("/<token>/resend")
def resend(token: str) -> Response:
    """The payer asked for a new code."""
    return _back_to_page(token, services().payins.resend(token))
