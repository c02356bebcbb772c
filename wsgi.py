"""The WSGI entry point: `gunicorn wsgi:app` and `flask --app wsgi`."""

import os
import sys
from pathlib import Path

from flask import Flask

from checkout import SHOP_NAME, ConfigError, check_config, create_app
from checkout.config import SANDBOX_PATH
from checkout.gateway import current_settings
from checkout.sandbox import MountedApp, SandboxConfigError, build_config, mount_into


def mount_sandbox(app: Flask) -> None:
    """Without HIGHHELP_API_URL (local use only) the built-in sandbox plays HighHelp at /sandbox."""
    with app.app_context():
        settings = current_settings()
    if not settings.uses_sandbox:
        return
    # The sandbox gets what it must agree with as plain values, never the app's settings.
    mounted = MountedApp(
        project_id=settings.project_id,
        request_signer=settings.request_signer,
        callback_verifier=settings.callback_verifier,
        test_mode=settings.environment == "test",
        merchant_name=SHOP_NAME,
    )
    mount_into(app, build_config(os.environ, Path(app.instance_path), mounted), SANDBOX_PATH)


try:
    app = create_app()
    mount_sandbox(app)
except (ConfigError, SandboxConfigError) as error:
    if check_config.requested(sys.argv):
        # `flask --app wsgi check-config` reports each problem as a finding line, then exits 1.
        raise SystemExit(check_config.report_unloadable(error)) from None
    # One readable message instead of a traceback, then stop.
    raise SystemExit(str(error)) from None
