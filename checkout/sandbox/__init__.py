"""A HighHelp sandbox that speaks the real wire protocol over HTTP.

It serves the widget payin API, the hosted mobile-payment page and signed callbacks, so that a
laptop or CI can run whole payments. Nothing else in `checkout/` imports this package; `wsgi.py`
mounts it with a configuration from `build_config`, and it may be run on its own with
`gunicorn "checkout.sandbox:create_app()"`.

It depends on the protocol, not on the app: of `checkout` it imports only `checkout.highhelp`
(signing, wire bodies, statuses, assumed values) and these helpers, which hold no app state:
`checkout.settings_reader` (reading variables), `checkout.local_keys` (generated local keys),
`checkout.sqltypes` and `checkout.sqlite` (UTC timestamps, SQLite tuning) and `checkout.money`
(formatting amounts).
"""

from .app import build_sandbox, create_app
from .config import MountedApp, SandboxConfigError, build_config
from .mount import mount_into

__all__ = ["MountedApp", "SandboxConfigError", "build_config", "build_sandbox", "create_app", "mount_into"]
