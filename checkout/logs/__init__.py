"""Logs: JSON lines in production (text locally), a request id, one `request` line per request, redacted.

create_app() calls configure() first and init_app() last; gunicorn.conf.py uses gunicorn_logconfig();
views add what they know with bind(payment_id=…, order=…).
"""

from .format import LogFormat, configure, formatter, gunicorn_logconfig, handler, log_format
from .redaction import REDACTED, redact_text
from .request_log import REQUEST_ID_HEADER, bind, init_app, request_id_from

__all__ = [
    "REDACTED",
    "REQUEST_ID_HEADER",
    "LogFormat",
    "bind",
    "configure",
    "formatter",
    "gunicorn_logconfig",
    "handler",
    "init_app",
    "log_format",
    "redact_text",
    "request_id_from",
]
