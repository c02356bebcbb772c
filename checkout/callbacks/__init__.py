"""HighHelp's signed alerts: one endpoint per callback URL, authenticated by signature, not CSRF."""

from __future__ import annotations

import logging

from flask import Blueprint, request

from .. import logs
from ..extensions import csrf
from ..gateway import current_settings
from ..highhelp import assumed
from ..highhelp.errors import BadPayload, BadSignature
from ..highhelp.signing import carries_boolean, parse_json_object, verify_signed_body
from ..highhelp.wire import Callback
from ..metrics import Refusal, count_callback
from ..payments.alerts import AlertKind
from ..payments.reports import apply_callback

log = logging.getLogger(__name__)
bp = Blueprint("callbacks", __name__, url_prefix="/highhelp/callbacks")
csrf.exempt(bp)


@bp.post(f"/<any({', '.join(AlertKind)}):kind>")
def receive(kind: str) -> tuple[dict[str, str], int]:
    """Verify, record once, apply; 2xx only after the commit, so HighHelp retries anything else."""
    raw = request.get_data()  # an oversized body stops here with 413
    settings = current_settings()
    try:
        body = verify_signed_body(
            raw,
            request.headers.get("x-access-signature"),
            request.headers.get("x-access-timestamp"),
            settings.callback_verifier,
            tolerance=settings.callback_tolerance,
        )
    except BadSignature as exc:
        log.warning("callback %s refused: %s%s", kind, exc, _boolean_hint(raw))
        count_callback(AlertKind(kind), Refusal.FORGED)
        return {"status": "error", "reason": f"signature check failed: {exc}"}, 401
    except BadPayload as exc:
        count_callback(AlertKind(kind), Refusal.MALFORMED)
        return {"status": "error", "reason": str(exc)}, 400
    try:
        callback = Callback.parse(body)
    except BadPayload as exc:
        log.warning("callback %s not understood: %s", kind, exc)
        count_callback(AlertKind(kind), Refusal.MALFORMED)
        return {"status": "error", "reason": str(exc)}, 400
    logs.bind(payment_id=callback.general.payment_id)
    verdict = apply_callback(AlertKind(kind), callback, body)
    count_callback(AlertKind(kind), verdict)
    log.info(
        "callback %s payment_id=%s state=%s/%s verdict=%s",
        kind,
        callback.general.payment_id,
        callback.status.status,
        callback.status.sub_status,
        verdict,
    )
    return {"status": "ok", "verdict": verdict}, assumed.CALLBACK_ACK_STATUS


def _boolean_hint(raw: bytes) -> str:
    """A note for the log when a refused body carries booleans, the likeliest cause (GO-LIVE)."""
    try:
        return f"; {assumed.BOOLEAN_HINT}" if carries_boolean(parse_json_object(raw)) else ""
    except BadPayload:
        return ""
