"""Who may see the back office and who may act in it: sign-in, idle timeout, roles."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast

from flask import Flask, abort, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..extensions import db, login_manager
from ..models import StaffRole, StaffUser
from ..sqltypes import utcnow
from .blueprint import bp
from .words import role_label

# A signed-in page left alone this long asks for the password again.
IDLE_TIMEOUT = timedelta(minutes=30)
# However active, a session ends this long after sign-in: a copied cookie stops working by then.
MAX_SESSION_AGE = timedelta(hours=12)
# When the person last did something (a page, a form); htmx polls do not count.
LAST_SEEN_KEY = "staff_seen"
# When the person signed in.
SIGNED_IN_KEY = "staff_signed_in"
# Pages reachable signed out.
PUBLIC_ENDPOINTS = frozenset({"merchant.login"})

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    """Attach Flask-Login to the app for the back office only."""
    login_manager.init_app(app)
    login_manager.login_view = "merchant.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    # Renewed at sign-in by clearing the session; "strong" would also sign out on an IP change, which
    # a phone moving between networks does every day.
    login_manager.session_protection = "basic"
    app.jinja_env.globals.update(role_label=role_label)


@login_manager.user_loader
def load_staff(session_id: str) -> StaffUser | None:
    """The signed-in person, if the session is still theirs (same token, not disabled)."""
    staff_id, _, token = session_id.partition(":")
    if not staff_id.isdigit() or not token or int(staff_id) > 2**31 - 1:
        return None
    query = select(StaffUser).where(StaffUser.id == int(staff_id), StaffUser.session_token == token)
    staff = db.session.execute(query).scalar()
    return staff if staff is not None and staff.active else None


def wants_fragment() -> bool:
    """True for requests a redirect to the sign-in page would not help: htmx and CSV."""
    return request.headers.get("HX-Request") == "true" or request.path.endswith(".csv")


@login_manager.unauthorized_handler
def signed_out() -> Response:
    """401 for htmx and CSV, else the sign-in page with the way back."""
    if wants_fragment():
        abort(401)
    return redirect(url_for("merchant.login", next=request.full_path.rstrip("?")))


@bp.before_request
def require_sign_in() -> Response | None:
    """Every page but the sign-in page needs a signed-in person who has not been idle too long."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return signed_out()
    now = utcnow().timestamp()
    last_seen, signed_in = session.get(LAST_SEEN_KEY), session.get(SIGNED_IN_KEY)
    idle = not isinstance(last_seen, (int, float)) or now - last_seen > IDLE_TIMEOUT.total_seconds()
    too_old = not isinstance(signed_in, (int, float)) or now - signed_in > MAX_SESSION_AGE.total_seconds()
    if idle or too_old:
        logout_user()
        session.pop(LAST_SEEN_KEY, None)
        session.pop(SIGNED_IN_KEY, None)
        return signed_out()
    if not (request.method == "GET" and request.headers.get("HX-Request") == "true"):
        session[LAST_SEEN_KEY] = now
    return None


def staff() -> StaffUser:
    """The signed-in person (only inside a back-office request)."""
    return cast(StaffUser, current_user._get_current_object())


def requires(allowed: Callable[[StaffRole], bool]) -> Callable[[ViewT], ViewT]:
    """Refuse the view with 403 unless the signed-in person's role is `allowed`."""

    def decorate(view: ViewT) -> ViewT:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not allowed(staff().staff_role):
                abort(403, description=_l("Your role can see this but not change it."))
            return view(*args, **kwargs)

        return cast(ViewT, guarded)

    return decorate


def can_act(role: StaffRole) -> bool:
    """Operators and owners act on payments and create payment links."""
    return role.can_act


def can_manage_staff(role: StaffRole) -> bool:
    """Only owners add, change and disable staff."""
    return role.can_manage_staff


acting = requires(can_act)
managing_staff = requires(can_manage_staff)
