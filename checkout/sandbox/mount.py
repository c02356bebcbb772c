"""Mounting the sandbox under a path of the checkout when no HighHelp URL is configured."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from .app import build_sandbox
from .config import SandboxConfig


def mount_into(app: Flask, config: SandboxConfig, path: str) -> Flask:
    """Serve a sandbox for `config` at `path` of `app`; the sandbox app."""
    sandbox = build_sandbox(config)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {path: sandbox})  # type: ignore[method-assign]
    return sandbox
