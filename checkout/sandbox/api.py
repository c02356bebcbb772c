"""HighHelp's widget payin API: the four signed endpoints, answered in HighHelp's shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from ..highhelp import assumed
from ..highhelp.errors import BadPayload, BadSignature, InvalidRequest
from ..highhelp.signing import Verifier, verify_signed_body
from .callbacks import payment_info
from .payins import Refusal
from .services import services
from .store import SandboxPayin

bp = Blueprint("api", __name__, url_prefix="/api/v1/widget")


def error_answer(http_status: int, description: str) -> tuple[Response, int]:
    """HighHelp's error shape: status "error" and the reason."""
    return jsonify(status=assumed.ERROR_STATUS, sub_status=None, status_description=description), http_status


def payin_answer(payin: SandboxPayin, *, integration: bool = True, info: bool = False) -> dict[str, Any]:
    """The common answer fields, plus where to send the payer and the amounts when asked."""
    answer: dict[str, Any] = {
        "status": payin.status,
        "sub_status": payin.sub_status,
        "status_description": payin.status_description,
        "request_id": payin.request_id,
        "project_id": payin.project_id,
        "payment_id": payin.payment_id,
    }
    if info:
        answer["payment_info"] = payment_info(payin)
    if integration:
        answer["integration"] = {
            "form_url": url_for("hosted.page", token=payin.form_token, _external=True),
            "redirect_url": payin.redirect_url,
        }
    return answer


def _verifier() -> Verifier:
    config = services().config
    if request.headers.get("x-access-merchant-algorithm") == assumed.HMAC_ALGORITHM_HEADER:
        if config.hmac_verifier is None:
            raise BadSignature("HMAC signatures are not enabled for this cash register")
        return config.hmac_verifier
    if config.rsa_verifier is None:
        raise BadSignature("RSA signatures are not enabled for this cash register")
    if request.headers.get("x-access-token") not in config.trusted_tokens:
        raise BadSignature("x-access-token is not a key registered for this cash register")
    return config.rsa_verifier


def _signed_call(handle: Callable[[dict[str, Any]], dict[str, Any]]) -> tuple[Response, int]:
    """Verify, parse and validate the request, then answer; every refusal stores nothing."""
    raw = request.get_data()  # an oversized body stops here with 413
    try:
        if request.headers.get("x-access-merchant-id") != services().config.project_id:
            raise Refusal(403, "x-access-merchant-id is not a known cash register")
        body = verify_signed_body(
            raw,
            request.headers.get("x-access-signature"),
            request.headers.get("x-access-timestamp"),
            _verifier(),
        )
        return jsonify(handle(body)), 200
    except BadSignature as exc:
        return error_answer(401, f"signature check failed: {exc}")
    except BadPayload as exc:
        return error_answer(400, str(exc))
    except InvalidRequest as exc:
        return error_answer(400, "; ".join(exc.problems))
    except Refusal as exc:
        return error_answer(exc.http_status, exc.description)


@bp.post("/payin")
def create() -> tuple[Response, int]:
    """Create a payin, or return the same one for a repeated identical request."""
    sandbox = services()

    def handle(body: dict[str, Any]) -> dict[str, Any]:
        faults = sandbox.faults
        return payin_answer(sandbox.payins.create(body, faults.mode, faults.delay))

    return _signed_call(handle)


@bp.post("/payin/info")
def info() -> tuple[Response, int]:
    """The payin's current state and amounts."""
    return _signed_call(lambda body: payin_answer(services().payins.info(body), info=True))


@bp.post("/payin/confirm")
def confirm() -> tuple[Response, int]:
    """Finalize a paid payin."""
    return _signed_call(lambda body: payin_answer(services().payins.confirm(body), integration=False))


@bp.post("/payin/cancel")
def cancel() -> tuple[Response, int]:
    """Decline a payin that is not final."""
    return _signed_call(lambda body: payin_answer(services().payins.cancel(body), integration=False))
