"""The WSGI entry point: `gunicorn wsgi:app` and `flask --app wsgi`."""

from checkout import ConfigError, create_app
from checkout.sandbox import SandboxConfigError, mount_into

try:
    app = create_app()
    # Without HIGHHELP_API_URL (local use only) the built-in sandbox plays HighHelp at /sandbox.
    mount_into(app)
except (ConfigError, SandboxConfigError) as error:
    # One readable message instead of a traceback, then stop.
    raise SystemExit(str(error)) from None
