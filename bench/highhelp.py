"""The HighHelp double of the tests as a WSGI app, for gunicorn to serve to the benchmarked app."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tests.highhelp_double import HighHelpDouble

READY_PATH = "/ready"
double = HighHelpDouble()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The double, and a plain 200 at READY_PATH to say it is up."""
    if environ.get("PATH_INFO") == READY_PATH:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ready"]
    # Every answer is the default one: what it received is never read, so keep none of it.
    double.received.clear()
    return double(environ, start_response)
