"""The HighHelp KZ checkout: create_app() builds the Flask application."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    body_limit,
    compression,
    converters,
    database,
    errors,
    gateway,
    health,
    host_check,
    i18n,
    logs,
    metrics_view,
    models,
    security,
    static_files,
)
from .callbacks import bp as callbacks_bp
from .check_config import check_config_command
from .cli import highhelp_cli
from .config import ConfigError, Settings, load_settings
from .countdown import format_clock
from .extensions import babel, csrf, db, limiter, migrate
from .mail.cli import mail_cli
from .merchant import access as merchant_access
from .merchant import bp as merchant_bp
from .merchant import merchant_cli
from .money import format_money
from .pay import bp as pay_bp
from .payments.cli import payments_cli
from .ratelimits import storage_options, storage_uri
from .shop import bp as shop_bp
from .shop import cart
from .shop.cli import shop_cli

__all__ = ["ConfigError", "create_app", "models"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHOP_NAME = "Dala Mobile Shop"


def create_app(environ: Mapping[str, str] | None = None, instance_path: str | Path | None = None) -> Flask:
    """Build the app from the environment; ConfigError lists every bad setting."""
    environ = os.environ if environ is None else environ
    app = Flask(
        __name__,
        instance_path=str(instance_path or environ.get("INSTANCE_PATH") or PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    settings = load_settings(environ, Path(app.instance_path))
    register_config(app, settings)
    # First of the after_request hooks, so it runs last and compresses the finished answer.
    compression.init_app(app)
    logs.configure(environ)
    register_extensions(app, settings)
    gateway.init_app(app, settings)
    metrics_view.init_app(app)
    security.init_app(app, settings)
    body_limit.init_app(app)
    i18n.init_app(app)
    register_template_helpers(app, settings)
    converters.init_app(app)
    register_blueprints(app)
    errors.init_app(app)
    static_files.init_app(app, security.response_headers(settings))
    if settings.is_production:
        # The PaaS router is the one proxy in front: trust its X-Forwarded-For and -Proto, so the
        # customer's own IP address reaches HighHelp and URLs are https.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    host_check.init_app(app)
    logs.init_app(app)
    for command in (highhelp_cli, shop_cli, payments_cli, merchant_cli, mail_cli, check_config_command):
        app.cli.add_command(command)
    return app


def register_config(app: Flask, settings: Settings) -> None:
    """Flask and extension settings derived from ours."""
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=database.engine_options(settings),
        # Rate limits fail open: a Redis outage falls back to per-process limits (ratelimits.py).
        RATELIMIT_STORAGE_URI=storage_uri(settings.redis_url),
        RATELIMIT_STORAGE_OPTIONS=storage_options(settings.redis_url),
        RATELIMIT_KEY_PREFIX=settings.redis_key_prefix,
        # Off: Flask-Limiter would stamp its own Retry-After on every answer, the busy page's included;
        # a 429 gets one from the error page instead.
        RATELIMIT_HEADERS_ENABLED=False,
        BABEL_DEFAULT_LOCALE=i18n.DEFAULT_LANGUAGE,
        # Times are stored in UTC and shown as Kazakhstan reads its clocks (one zone, UTC+5, since 2024).
        BABEL_DEFAULT_TIMEZONE=i18n.DISPLAY_TIMEZONE,
        WTF_CSRF_TIME_LIMIT=None,
        PREFERRED_URL_SCHEME="https" if settings.is_production else "http",
    )


def register_extensions(app: Flask, settings: Settings) -> None:
    """Attach the unbound extension objects to this app."""
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_language)
    limiter.init_app(app)
    merchant_access.init_app(app)


def register_template_helpers(app: Flask, settings: Settings) -> None:
    """Names every template may use: money, the clock, the cart, the shop's name."""
    app.jinja_env.filters.update(money=format_money, clock=format_clock)
    app.jinja_env.globals.update(
        shop_name=SHOP_NAME, sandbox_mode=settings.uses_sandbox, cart_count=cart.count
    )


def register_blueprints(app: Flask) -> None:
    """One blueprint per audience."""
    for blueprint in (shop_bp, pay_bp, callbacks_bp, health.bp, merchant_bp, metrics_view.bp):
        app.register_blueprint(blueprint)
