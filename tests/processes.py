"""Running the app as a separate process, the way a developer or the PaaS does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
APP_VARIABLES = (
    "APP_ENV",
    "SECRET_KEY",
    "DATABASE_URL",
    "PUBLIC_BASE_URL",
    "HIGHHELP_",
    "PAYMENT_",
    "REDIS_URL",
    "SMTP_URL",
    "MAIL_FROM",
    "LOG_FORMAT",
)


def local_gunicorn(port: int, app: str = "wsgi:app", threads: int = 8) -> list[str]:
    """gunicorn serving `app` on loopback in one process, as a developer would with the mounted sandbox.

    gunicorn reads ./gunicorn.conf.py on its own (WEB_CONCURRENCY workers); the sandbox keeps its test
    controls (faults, clock) in its process, so one worker is asked for on the command line.
    """
    return [
        *(sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"),
        *("--workers", "1", "--threads", str(threads), app),
    ]


def clean_environ(**overrides: str) -> dict[str, str]:
    """This process's environment without any app setting, plus `overrides`."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith(APP_VARIABLES)}
    environ.update(overrides)
    return environ


def run_flask(
    *args: str, environ: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`flask --app wsgi ARGS` in the project folder, fed `stdin`; output captured as text."""
    return subprocess.run(
        [*FLASK, *args],
        cwd=ROOT,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    command: list[str],
    environ: dict[str, str],
    port: int,
    log: Path,
    ready_path: str = "/healthz",
    cwd: Path = ROOT,
) -> Iterator[str]:
    """Start a server process in `cwd`, wait until it answers `ready_path`, stop it afterwards."""
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=environ, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not _answers(url + ready_path):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{log.read_text()}")
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


@contextmanager
def serving_wsgi(app: Callable[..., Any]) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
