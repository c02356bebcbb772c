"""How a line is written: one JSON object in production, text locally; for the app and for gunicorn."""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

from ..config import ConfigError
from .redaction import redact

# The first keys of every JSON line, in this order.
LEADING_KEYS = ("time", "level", "logger", "message")


class LogFormat(enum.StrEnum):
    """How a line is written: one JSON object (production) or text for a person (locally)."""

    JSON = "json"
    TEXT = "text"


def log_format(environ: Mapping[str, str]) -> LogFormat:
    """LOG_FORMAT, else JSON under APP_ENV=production (the default) and text otherwise."""
    chosen = environ.get("LOG_FORMAT", "").strip().lower()
    if not chosen:
        production = environ.get("APP_ENV", "production") == "production"
        return LogFormat.JSON if production else LogFormat.TEXT
    try:
        return LogFormat(chosen)
    except ValueError:
        choices = " or ".join(LogFormat)
        problem = f"LOG_FORMAT: must be {choices}, not {chosen!r}"
        raise ConfigError(environ.get("APP_ENV", "production"), [problem]) from None


# Attributes every LogRecord has (and the two a formatter adds): the rest came in `extra=`.
RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def add_extra(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: a stdlib record's `extra=` fields become fields of the line.

    They win over the request's context: a call's own payment_id is more exact than the page's.
    """
    record = event_dict.get("_record")
    if record is not None:
        for key, value in record.__dict__.items():
            if key not in RECORD_ATTRIBUTES and not key.startswith("_"):
                event_dict[key] = value
    return event_dict


def lead_with_standard_keys(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: time, level, logger, message first, so a person can read a raw line."""
    leading = {key: event_dict.pop(key) for key in LEADING_KEYS if key in event_dict}
    return {**leading, **event_dict}


def formatter(log_format: LogFormat | str) -> logging.Formatter:
    """A stdlib formatter rendering any record as one JSON object or one line of text."""
    chosen = LogFormat(log_format)
    renderer: list[Processor]
    if chosen is LogFormat.JSON:
        renderer = [
            structlog.processors.EventRenamer("message"),
            lead_with_standard_keys,
            structlog.processors.JSONRenderer(default=str),
        ]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=False, sort_keys=False, timestamp_key="time")]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            add_extra,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            # Tracebacks become text before redaction, so a secret in an exception is caught too.
            structlog.processors.format_exc_info,
            redact,
            *renderer,
        ],
    )


def handler(log_format: LogFormat | str, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) writing in `log_format`."""
    written_to = logging.StreamHandler(stream)
    written_to.setFormatter(formatter(log_format))
    return written_to


def configure(environ: Mapping[str, str]) -> None:
    """Log INFO and above in the configured format, unless logging was set up before the app.

    gunicorn (gunicorn_logconfig) and pytest set it up first; a CLI command or `flask run` does not.
    """
    chosen = log_format(environ)
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(handler(chosen))
        root.setLevel(logging.INFO)


def gunicorn_logconfig(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A logging.config.dictConfig for gunicorn: its own lines and the app's, one format, on stderr."""
    chosen = log_format(os.environ if environ is None else environ)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # A callable, not a dotted name: logging.config imports nothing of ours itself.
        "formatters": {"checkout": {"()": formatter, "log_format": str(chosen)}},
        "handlers": {
            # stderr, like the app outside gunicorn, so a command's own output on stdout stays clean.
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "checkout",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            # gunicorn stops these propagating and gives them handlers of its own: replace both.
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            # Off (gunicorn turns its access log on whenever a logconfig_dict is given): the app's
            # `request` line says more, with the request id, route and payment.
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }
