"""Request bodies over the size limit get 413 whatever their framing, chunked included."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

from flask import Flask, abort, request

from .security import MAX_BODY_BYTES

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_READ_SIZE = 16 * 1024


class BodyLimit:
    """WSGI middleware that reads a body without Content-Length (chunked) up to limit + 1 bytes."""

    def __init__(self, app: WSGIApplication, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Hand the app the body with a Content-Length, so one check refuses both framings."""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        # `wsgi.input_terminated`: the server (gunicorn, werkzeug's) ends the stream where the body
        # ends, so reading it cannot block. Without it and without Content-Length werkzeug reads
        # nothing, which is safe as it is.
        if environ.get("wsgi.input_terminated") and (chunked or not environ.get("CONTENT_LENGTH")):
            # One byte past the limit is enough to know it is too large; the rest is never read.
            body = _read_at_most(environ["wsgi.input"], self.limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            # Werkzeug ignores Content-Length on a chunked request; the app now gets a plain body.
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


def _read_at_most(stream: IO[bytes], size: int) -> bytes:
    # A read may return less than asked (werkzeug's DechunkedInput stops at chunk ends): loop.
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        part = stream.read(min(remaining, _READ_SIZE))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def init_app(app: Flask) -> None:
    """Install the middleware, and refuse any body over the limit on every route with 413."""
    app.wsgi_app = BodyLimit(app.wsgi_app, MAX_BODY_BYTES)  # type: ignore[method-assign]

    @app.before_request
    def refuse_oversized_body() -> None:
        # Werkzeug refuses only when a view reads the body; a view that ignores it would still run.
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            abort(413)
