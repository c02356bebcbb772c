"""gunicorn's settings for the Procfile's `web`: processes, threads, timeouts, proxies and metrics.

gunicorn runs this file once in its master process, before any worker starts or loads the app.
Options given on gunicorn's command line override what is set here.
"""

import os
import shutil
import tempfile
from pathlib import Path

from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

# Multiprocess metrics: every worker writes its counts to files in this folder and /metrics adds
# them up. prometheus_client reads the variable when it is first imported, so it is set here, before
# anything below imports the app; the workers inherit it. A fresh folder per start: counts left by
# an earlier run would be added to this one's.
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
MADE_MULTIPROC_DIR = MULTIPROC_DIR_VARIABLE not in os.environ
if MADE_MULTIPROC_DIR:
    os.environ[MULTIPROC_DIR_VARIABLE] = tempfile.mkdtemp(prefix="checkout-metrics-")

from checkout.config import DEFAULT_WEB_CONCURRENCY, DEFAULT_WEB_THREADS, WEB_THREADS_RANGE  # noqa: E402
from checkout.logs import gunicorn_logconfig  # noqa: E402

WEB_CONCURRENCY_RANGE = (1, 64)


def whole_number(name: str, default: int, low: int, high: int) -> int:
    """The environment variable `name` as a whole number in [low, high]; stop with a clear message."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise SystemExit(f"{name}: must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


# The PaaS router connects to $PORT on every interface; nothing else listens there.
bind = [f"0.0.0.0:{whole_number('PORT', 8000, 1, 65535)}"]

# Processes × threads = requests served at once. Threads suit this app: a request mostly waits on
# the database or on HighHelp. Each process has its own database pool of WEB_THREADS connections
# (checkout/database.py), so the database sees up to WEB_CONCURRENCY × (WEB_THREADS + 2) of them.
worker_class = "gthread"
workers = whole_number("WEB_CONCURRENCY", DEFAULT_WEB_CONCURRENCY, *WEB_CONCURRENCY_RANGE)
threads = whole_number("WEB_THREADS", DEFAULT_WEB_THREADS, *WEB_THREADS_RANGE)

# A worker that has not reported to the master for this long is killed and replaced. A gthread
# worker's main loop reports while its threads wait, so this catches a hung process, not a slow
# request; it is still well above the longest call to HighHelp (connect 3.05 s + create's read
# 10 s, checkout/highhelp/assumed.py), so no setting here cuts off an answer HighHelp may still give.
timeout = 30
# On SIGTERM (a deploy, a restart, scaling down) a worker stops accepting and finishes what it has
# in hand for up to this long: a callback being applied still gets its 2xx after the commit, and a
# Pay press still gets HighHelp's answer. Below the 30 s a Heroku-style PaaS waits before SIGKILL,
# and above the longest HighHelp call.
graceful_timeout = 25
# The router reuses connections to the dyno; a few seconds saves a handshake per request without
# holding a thread's connection slot for long.
keepalive = 5

# Proxies: exactly one, the PaaS router, is trusted, here and in the app. The app's ProxyFix
# (checkout/__init__.py, x_for=1, x_proto=1) takes the customer's address from the last
# X-Forwarded-For entry (the router's own) and the scheme from X-Forwarded-Proto. gunicorn itself
# only reads the scheme, and only from the addresses listed here. The router's address is not known
# in advance on a PaaS and the dyno is reachable only through it, so "*" by default, as ProxyFix
# assumes; where the port is reachable otherwise (a plain VM), firewall it to the router and set
# FORWARDED_ALLOW_IPS to the router's address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# Only the one scheme header ProxyFix also reads; gunicorn's default also trusts two more, which a
# client could set to disagree and get a 400.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
# gunicorn would copy SCRIPT_NAME and PATH_INFO headers from a trusted front end into the request;
# with "*" above that would be anyone, and the router never sends them.
forwarder_headers = ""

# Off: the app logs one line per request itself, with its request id, route and duration.
accesslog = None
logconfig_dict = gunicorn_logconfig()

# gunicorn 27's run-time control socket (change workers, reload) is not something a dyno needs, and
# without a writable $HOME (the Docker image's user has none) it logs an ERROR at every start.
control_socket_disable = True

# No periodic worker restarts: there is no known leak to cure, and each restart would leave one more
# set of metric files behind for every scrape to read.
max_requests = 0


def on_starting(server: Arbiter) -> None:
    """Start the metrics from zero when the operator chose the folder (ours is new and empty)."""
    if not MADE_MULTIPROC_DIR:
        folder = Path(os.environ[MULTIPROC_DIR_VARIABLE])
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()


def child_exit(server: Arbiter, worker: Worker) -> None:
    """Tell prometheus_client a worker is gone; its counts stay in the sum, as counters must."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Arbiter) -> None:
    """Remove the metrics folder this file made."""
    if MADE_MULTIPROC_DIR:
        shutil.rmtree(os.environ[MULTIPROC_DIR_VARIABLE], ignore_errors=True)
