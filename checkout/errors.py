"""Error pages: a clear message in the page layout, never a stack trace."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, Response, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadHost, HTTPException

# The page sets its own body, so the error's own body headers do not apply to it.
BODY_HEADERS = frozenset({"content-type", "content-length"})


def init_app(app: Flask) -> None:
    """Render every HTTP error with the error template."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        if isinstance(error, BadHost):
            # No URL can be built for a host that is not a host name: a page with links would fail.
            return Response(
                f"{code} {error.name}: the Host header is not a host name\n", code, mimetype="text/plain"
            )
        retry_after = error.limit.limit.get_expiry() if isinstance(error, RateLimitExceeded) else None
        page = render_template(
            "error.html",
            code=code,
            name=error.name,
            detail=_detail(error, retry_after),
            back=_order_page(code),
        )
        response = make_response(page, code)
        # Keep what the error tells the client: Allow (405), Retry-After (429, 503), WWW-Authenticate …
        for name, value in error.get_headers():
            if name.lower() not in BODY_HEADERS:
                response.headers.add(name, value)
        if retry_after is not None:
            # The limit's whole window: by then the count has surely started again.
            response.headers["Retry-After"] = str(retry_after)
        return response


def _detail(error: HTTPException, retry_after: int | None) -> str | None:
    """What the customer can do about it, in the page's language; None when the title says it all."""
    if retry_after is not None:
        # The limit's own words ("6 per 1 minute") are neither the page's language nor advice.
        return _("Please wait %(seconds)s seconds, then try again.", seconds=retry_after)
    if isinstance(error, CSRFError):
        return _(
            "This form has expired or your browser blocks cookies. Go back, reload the page and try again."
        )
    # Our own explanation (abort(400, description=…)) says what to fix; werkzeug's stock text does not.
    return str(error.description) if error.description != type(error).description else None


def _order_page(code: int) -> str | None:
    """The order page a refused press on it came from, to go back to; None elsewhere (or no such order)."""
    token = (request.view_args or {}).get("token")
    if code == HTTPStatus.NOT_FOUND or request.blueprint != "pay" or request.endpoint == "pay.order_page":
        return None
    if not isinstance(token, str):
        return None
    return url_for("pay.order_page", token=token)
