"""A HighHelp sandbox that speaks the real wire protocol over HTTP.

It serves the widget payin API, the hosted mobile-payment page and signed callbacks, so that a
laptop or CI can run whole payments. Nothing else in `checkout/` imports this package; `wsgi.py`
mounts it, and it may be run on its own with `gunicorn "checkout.sandbox:create_app()"`.
"""

from .app import build_sandbox, create_app
from .config import SandboxConfigError
from .mount import mount_into

__all__ = ["SandboxConfigError", "build_sandbox", "create_app", "mount_into"]
