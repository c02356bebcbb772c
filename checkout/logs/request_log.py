"""The request id and one `request` line per request, and what views add to the lines of theirs."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from flask import Flask, request, request_started
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

REQUEST_ID_HEADER = "X-Request-ID"
# What we take from the router as a request id; anything else could forge or break log lines.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# The one line per request: its logger and message.
REQUEST_LOGGER = "checkout.requests"
REQUEST_EVENT = "request"


def request_id_from(header: str | None) -> str:
    """The router's request id when it is sane, else a new one."""
    if header is not None and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def bind(**fields: Any) -> None:
    """Add fields (payment_id=…, order=…) to every line logged for the request being handled."""
    bind_contextvars(**{key: value for key, value in fields.items() if value is not None})


class RequestLog:
    """WSGI middleware: a request id for each request, returned and logged; one `request` line at its end."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.log = logging.getLogger(REQUEST_LOGGER)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve the request with its id bound to every line logged meanwhile."""
        started = time.perf_counter()
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        # A worker thread serves one request after another: nothing of the last one may stay.
        clear_contextvars()
        bind_contextvars(request_id=request_id, method=environ.get("REQUEST_METHOD"))
        status: list[int] = []

        def start_with_id(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[:] = [int(code.split(" ", 1)[0])]
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            return start_response(code, [*headers, (REQUEST_ID_HEADER, request_id)], exc_info)

        try:
            return self.app(environ, start_with_id)
        except BaseException:
            status[:] = [500]
            raise
        finally:
            self._log_request(environ, status[0] if status else 500, started)
            clear_contextvars()

    def _log_request(self, environ: WSGIEnvironment, status: int, started: float) -> None:
        extra: dict[str, Any] = {
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        # The app binds route and ip (ProxyFix's address); a request refused before it (a Host that
        # is no host name) has neither yet.
        bound = get_contextvars()
        fallback = {"route": None, "ip": environ.get("REMOTE_ADDR")}
        extra.update({key: value for key, value in fallback.items() if key not in bound})
        self.log.log(request_level(status), REQUEST_EVENT, extra=extra)


def _bind_route(sender: Flask, **_: Any) -> None:
    """Before any guard of the app runs: the URL rule (never the path: it holds tokens) and the client."""
    rule = request.url_rule
    bind(route=rule.rule if rule is not None else None, ip=request.remote_addr)


def init_app(app: Flask) -> None:
    """Log every request; install last, so the middleware sees every answer, the Host check's too."""
    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]
    request_started.connect(_bind_route, app)

    def log_exception(exc_info: Any) -> None:
        # Flask's own names the path, and an order page's path holds its token: name the rule.
        rule = request.url_rule.rule if request.url_rule is not None else None
        app.logger.error("Exception on %s [%s]", rule, request.method, exc_info=exc_info)

    app.log_exception = log_exception  # type: ignore[method-assign]


def request_level(status: int) -> int:
    """ERROR for a failure of ours; a 503 is a designed answer (HighHelp down, every call slot busy)."""
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        return logging.WARNING
    return logging.ERROR if status >= HTTPStatus.INTERNAL_SERVER_ERROR else logging.INFO
