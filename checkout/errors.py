"""Error pages: a clear message in the page layout, never a stack trace."""

from __future__ import annotations

from flask import Flask, Response, make_response, render_template
from werkzeug.exceptions import HTTPException

# The page sets its own body, so the error's own body headers do not apply to it.
BODY_HEADERS = frozenset({"content-type", "content-length"})


def init_app(app: Flask) -> None:
    """Render every HTTP error with the error template."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        # Our own explanation (abort(400, description=…)) says what to fix; werkzeug's stock text does not.
        detail = error.description if error.description != type(error).description else None
        page = render_template("error.html", code=code, name=error.name, detail=detail)
        response = make_response(page, code)
        # Keep what the error tells the client: Allow (405), Retry-After (429, 503), WWW-Authenticate …
        for name, value in error.get_headers():
            if name.lower() not in BODY_HEADERS:
                response.headers.add(name, value)
        return response
