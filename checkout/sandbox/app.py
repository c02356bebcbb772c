"""The sandbox as a Flask app of its own, standalone or mounted under the checkout's /sandbox."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from ..sqltypes import utcnow
from . import api, control, hosted, overview
from .config import SandboxConfig, build_config
from .services import EXTENSION_KEY, Services

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def build_sandbox(config: SandboxConfig, clock: Callable[[], datetime] = utcnow) -> Flask:
    """A sandbox app for `config` on `clock`; its sender thread starts with the first request."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates" / "sandbox"),
        static_folder=str(PROJECT_ROOT / "static" / "sandbox"),
        static_url_path="/static",
    )
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024)
    app.extensions[EXTENSION_KEY] = Services.build(config, clock)
    for blueprint in (api.bp, hosted.bp, control.bp, overview.bp):
        app.register_blueprint(blueprint)

    @app.before_request
    def start_sender() -> None:
        app.extensions[EXTENSION_KEY].outbox.wake()

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        # API clients get HighHelp's error shape; people get the same words as JSON too.
        return api.error_answer(error.code or 500, error.description or error.name)

    return app


def create_app(environ: Mapping[str, str] | None = None, instance_path: str | Path | None = None) -> Flask:
    """The standalone sandbox: `gunicorn "checkout.sandbox:create_app()"`, set up by SANDBOX_* variables."""
    folder = Path(instance_path) if instance_path else PROJECT_ROOT / "instance"
    return build_sandbox(build_config(os.environ if environ is None else environ, folder))
