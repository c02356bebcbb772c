"""Signing in and out of the back office, throttled per account and per client address."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from ..database import begin_write
from ..extensions import db, limiter
from ..sqltypes import utcnow
from . import accounts
from .access import LAST_SEEN_KEY, SIGNED_IN_KEY
from .blueprint import bp

# Failed sign-ins allowed in THROTTLE_WINDOW for one email address (existing or not) and for one
# client address; successes do not count.
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_CLIENT = 20
THROTTLE_WINDOW = "15 minutes"
THROTTLE_MINUTES = 15


def _submitted_account() -> str:
    return "sign-in:" + request.form.get("email", "").strip().lower()[:254]


def _client() -> str:
    return "sign-in-client:" + (get_remote_address() or "")


def _failed(response: Response) -> bool:
    return response.status_code != 303


def _safe_next(target: str | None) -> str:
    """Back to the page that asked for sign-in, if it is a back-office page; else the dashboard."""
    if (
        target
        and target.startswith("/merchant")
        and "\\" not in target
        and target.isprintable()
        and not target.startswith("//")
    ):
        return target
    return url_for("merchant.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    f"{FAILURES_PER_ACCOUNT} per {THROTTLE_WINDOW}",
    key_func=_submitted_account,
    methods=["POST"],
    deduct_when=_failed,
)
@limiter.limit(
    f"{FAILURES_PER_CLIENT} per {THROTTLE_WINDOW}", key_func=_client, methods=["POST"], deduct_when=_failed
)
def login() -> Response | tuple[str, int]:
    """The sign-in form; the same answer for an unknown email and a wrong password."""
    next_page = request.values.get("next")
    if request.method == "GET":
        return render_template("merchant/login.html", next_page=next_page, error=None), 200
    email = request.form.get("email", "")
    staff = accounts.authenticate(email, request.form.get("password", ""))
    if staff is None:
        error = _("The email or the password is wrong, or the account is disabled.")
        return render_template("merchant/login.html", next_page=next_page, error=error, email=email), 401
    # A new session at sign-in: nothing from before (a planted session, an old CSRF token) carries over.
    session.clear()
    login_user(staff)
    session[LAST_SEEN_KEY] = session[SIGNED_IN_KEY] = utcnow().timestamp()
    begin_write()
    staff.last_sign_in_at = utcnow()
    db.session.commit()
    return redirect(_safe_next(next_page), code=303)


@bp.errorhandler(429)
def too_many_sign_ins(error: Exception) -> tuple[str, int, dict[str, str]]:
    """Throttled: the sign-in page says so and when to try again."""
    message = _("Too many failed sign-ins. Wait %(minutes)d minutes and try again.", minutes=THROTTLE_MINUTES)
    page = render_template("merchant/login.html", next_page=request.values.get("next"), error=message)
    return page, 429, {"Retry-After": str(THROTTLE_MINUTES * 60)}


@bp.post("/logout")
def logout() -> Response:
    """Sign out (POST with the CSRF token) and forget the session."""
    logout_user()
    session.clear()
    return redirect(url_for("merchant.login"), code=303)
