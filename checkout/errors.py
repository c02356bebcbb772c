"""Error pages: a clear message in the page layout, never a stack trace."""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template
from flask_limiter.errors import RateLimitExceeded
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
        # Our own explanation (abort(400, description=…)) says what to fix; werkzeug's stock text does not.
        detail = error.description if error.description != type(error).description else None
        page = render_template("error.html", code=code, name=error.name, detail=detail)
        response = make_response(page, code)
        # Keep what the error tells the client: Allow (405), Retry-After (429, 503), WWW-Authenticate …
        for name, value in error.get_headers():
            if name.lower() not in BODY_HEADERS:
                response.headers.add(name, value)
        if isinstance(error, RateLimitExceeded):
            # The limit's whole window: by then the count has surely started again.
            response.headers["Retry-After"] = str(error.limit.limit.get_expiry())
        return response
