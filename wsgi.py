"""The WSGI entry point: `gunicorn wsgi:app` and `flask --app wsgi`."""

from checkout import ConfigError, create_app

try:
    app = create_app()
except ConfigError as error:
    # One readable message instead of a traceback, then stop.
    raise SystemExit(str(error)) from None
