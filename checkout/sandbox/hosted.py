"""The hosted payment page at form_url: operator and phone, the SMS code, the result."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..countdown import format_clock
from ..highhelp import statuses
from ..money import format_money
from . import operators, scenarios, texts
from .payins import MAX_RESENDS, MAX_WRONG_CODES, WAITING_FOR_CODE, phone_problems, wants_number
from .services import services
from .store import SandboxPayin

bp = Blueprint("hosted", __name__, url_prefix="/pay")

# How often the "checking" step asks whether it is over.
POLL_SECONDS = 2
# The longest typed number the page echoes back; anything longer was not a phone number.
MAX_TYPED_PHONE = 32


class Phase(enum.StrEnum):
    """Which screen the payer sees (data-phase on the page)."""

    PHONE = "phone"
    CODE = "code"
    CHECKING = "checking"
    SUCCESS = "success"
    DECLINED = "declined"


FINAL_PHASES = frozenset({Phase.SUCCESS, Phase.DECLINED})
# Errors a step may leave for the next page view, by the field they belong to.
FIELD_OF_ERROR = {
    "bad_operator": "operator",
    "bad_phone": "phone",
    "wrong_code": "code",
    "empty_code": "code",
}
# The fields each step has: an error for another step's field (an old address) is not shown.
FIELDS = {Phase.PHONE: frozenset({"operator", "phone"}), Phase.CODE: frozenset({"code"})}
# Other words a step may leave; anything else in ?m= is ignored.
NOTICES = frozenset({"resend_in", "new_code_sent", "no_more_codes"})


def phase_of(payin: SandboxPayin) -> Phase:
    """Which screen the payer sees."""
    state = payin.state
    if state == statuses.SUCCESS:
        return Phase.SUCCESS
    if state == statuses.DECLINE:
        return Phase.DECLINED
    if wants_number(payin):
        return Phase.PHONE
    if state in WAITING_FOR_CODE:
        return Phase.CODE
    return Phase.CHECKING


def _language(payin: SandboxPayin | None) -> str:
    return texts.choose_language(request.args.get("lang"), payin.language if payin else None)


def _lang_arg() -> str | None:
    """The language the payer picked on this page, carried from step to step."""
    lang = request.args.get("lang")
    return lang if lang in texts.LANGUAGES else None


def _phone_form(payin: SandboxPayin, errors: dict[str, str]) -> dict[str, Any]:
    """What the phone step shows: the payer's typed number and operator, or a suggested operator."""
    typed = request.args.get("phone", "")[:MAX_TYPED_PHONE]
    chosen = operators.parse(request.args.get("operator"))
    if not typed and payin.phone:  # changing the number: start from the one given before
        typed, chosen = scenarios.format_phone(payin.phone), chosen or operators.parse(payin.operator)
    suggested = None if chosen else operators.suggest(typed)
    if errors.get("operator") == "bad_operator" and suggested:
        errors["operator"] = "check_operator"
    return {
        "typed_phone": typed,
        "max_phone": MAX_TYPED_PHONE,
        "chosen_operator": chosen,
        "selected_operator": chosen or suggested,
        "suggested_operator": suggested,
        "operators": operators.OPERATORS,
        "operator_prefixes": operators.UNAMBIGUOUS_PREFIXES,
        "test_numbers": [(scenarios.format_phone(s.phone), s.summary) for s in scenarios.SCENARIOS],
    }


def _step_context(payin: SandboxPayin, language: str) -> dict[str, Any]:
    """Everything the page and its step fragment are rendered from."""
    sandbox = services()

    def t(key: str, **values: object) -> str:
        return texts.text(language, key, **values)

    phase = phase_of(payin)
    messages = request.args.getlist("m")
    fields = FIELDS.get(phase, frozenset())
    errors = {FIELD_OF_ERROR[key]: key for key in messages if FIELD_OF_ERROR.get(key) in fields}
    notice = next((key for key in messages if key in NOTICES), None) if phase == Phase.CODE else None
    seconds_left = int((payin.expires_at - sandbox.payins.clock()).total_seconds())
    context: dict[str, Any] = {
        "t": t,
        "language": language,
        "lang_arg": _lang_arg(),
        "payin": payin,
        "phase": phase,
        "final": phase in FINAL_PHASES,
        "merchant": sandbox.config.merchant_name,
        "amount": format_money(payin.amount, payin.currency),
        "time_left": format_clock(seconds_left),
        "seconds_left": max(0, seconds_left),
        "resend_wait": sandbox.payins.resend_wait(payin),
        "attempts_left": MAX_WRONG_CODES - payin.wrong_codes,
        "resends_left": MAX_RESENDS - payin.resends,
        "phone": scenarios.format_phone(payin.phone) if payin.phone else "",
        "errors": errors,
        "notice": notice,
        "return_seconds": sandbox.config.return_seconds,
        "poll_seconds": POLL_SECONDS,
    }
    if phase == Phase.PHONE:
        context.update(_phone_form(payin, errors))
    return context


def _titled(context: dict[str, Any]) -> dict[str, Any]:
    """The step's heading, which is also the document's title (with "Error" first after a mistake)."""
    t: Callable[..., str] = context["t"]
    heading = {
        Phase.PHONE: "title",
        Phase.CODE: "code_title",
        Phase.CHECKING: "checking_title",
        Phase.SUCCESS: "success",
        Phase.DECLINED: "declined",
    }[context["phase"]]
    context["heading"] = t(heading)
    context["page_title"] = (t("error_title") + ": " if context["errors"] else "") + context["heading"]
    return context


@bp.get("/<token>")
def page(token: str) -> str | tuple[str, int]:
    """The page for the payin's current step, in the payer's language."""
    payin = services().payins.by_token(token)
    language = _language(payin)
    if payin is None:
        return render_template(
            "not_found.html", t=lambda key, **values: texts.text(language, key, **values), language=language
        ), 404
    return render_template("page.html", **_titled(_step_context(payin, language)))


@bp.get("/<token>/step")
def step(token: str) -> str | tuple[str, int]:
    """The current step alone, for the page that polls while checking; 204 while it is still `seen`."""
    payin = services().payins.by_token(token)
    if payin is None:
        abort(404)
    if request.args.get("seen") == phase_of(payin):
        return "", 204
    return render_template("_step.html", **_titled(_step_context(payin, _language(payin))))


def _back_to_page(token: str, messages: list[str], typed: dict[str, str] | None = None) -> Response:
    if "not_found" in messages:
        abort(404)
    arguments: dict[str, Any] = {"m": messages or None, "lang": _lang_arg(), **(typed or {})}
    target = url_for("hosted.page", token=token, **arguments)
    return redirect(target, code=303)


def _messages(message: str | None) -> list[str]:
    return [message] if message else []


@bp.post("/<token>/phone")
def submit_phone(token: str) -> Response:
    """The payer picked an operator and typed a number; a mistake brings both back, with the errors."""
    operator, phone = request.form.get("operator", ""), request.form.get("phone", "")
    problems = phone_problems(operator, phone)
    if problems:
        payin = services().payins.by_token(token)
        if payin is None:
            abort(404)
        # The typed values come back in the page's address (never a code: only these two fields).
        typed = {"phone": phone[:MAX_TYPED_PHONE]} if phone else {}
        if kept := operators.parse(operator):
            typed["operator"] = kept.value
        return _back_to_page(token, problems, typed)
    return _back_to_page(token, _messages(services().payins.submit_phone(token, operator, phone)))


@bp.post("/<token>/code")
def submit_code(token: str) -> Response:
    """The payer typed the code from the SMS."""
    return _back_to_page(token, _messages(services().payins.submit_code(token, request.form.get("code", ""))))


@bp.post("/<token>/resend")
def resend(token: str) -> Response:
    """The payer asked for a new code."""
    return _back_to_page(token, _messages(services().payins.resend(token)))


@bp.post("/<token>/change-number")
def change_number(token: str) -> Response:
    """The payer wants to give another number before the code is accepted."""
    return _back_to_page(token, _messages(services().payins.change_number(token)))


@bp.post("/<token>/cancel")
def cancel(token: str) -> Response:
    """The payer gives up: the payin is declined and the payer goes back to the shop, if it said where."""
    sandbox = services()
    message = sandbox.payins.cancel_by_payer(token)
    payin = sandbox.payins.by_token(token)
    if payin is None or message == "not_found":
        abort(404)
    if payin.redirect_url and payin.state == statuses.DECLINE:
        return redirect(payin.redirect_url, code=303)
    return _back_to_page(token, [])
