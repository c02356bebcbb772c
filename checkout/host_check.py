"""A request whose Host header is not a host name gets 400 before the app: no URL can be built for it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# A DNS name (labels of 1–63 letters, digits and hyphens) or a bracketed IPv6 address, then a port.
HOST = re.compile(
    r"(?:[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?"
)
MAX_HOST_LENGTH = 253 + len(":65535")
BAD_HOST_BODY = b"400 Bad Request: the Host header is not a host name\n"


def is_host(value: str) -> bool:
    """True for a Host header werkzeug can build URLs for, punycode labels included."""
    if len(value) > MAX_HOST_LENGTH or not HOST.fullmatch(value):
        return False
    if value.startswith("["):
        return True
    name = value.rsplit(":", 1)[0] if ":" in value else value
    try:
        # An xn-- label that is not valid punycode fails here rather than deep inside werkzeug.
        name.encode("ascii").decode("idna")
    except UnicodeError:
        return False
    return True


class HostCheck:
    """WSGI middleware: refuse a malformed Host header with a plain 400."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Pass a request with a well-formed Host on; answer 400 otherwise."""
        if not is_host(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")):
            headers = [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(BAD_HOST_BODY))),
            ]
            start_response("400 Bad Request", headers)
            return [BAD_HOST_BODY]
        return self.app(environ, start_response)


def init_app(app: Flask) -> None:
    """Check the Host header before anything else reads it."""
    app.wsgi_app = HostCheck(app.wsgi_app)  # type: ignore[method-assign]
