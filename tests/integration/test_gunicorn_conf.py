"""gunicorn.conf.py: what the Procfile's web process runs with, and a SIGTERM that finishes callbacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, select, text

from checkout.extensions import db
from checkout.highhelp import assumed
from checkout.models import CallbackAlert
from tests.checkout_support import make_attempt, make_order, order_status
from tests.highhelp_double import HighHelpDouble
from tests.processes import ROOT, clean_environ
from tests.production_support import production_server, send_alert, signed_alert, wait_until
from tests.redis_support import SHARED_REDIS_URL, shared_redis

# The longest a call to HighHelp may take: connecting, then the longest read.
LONGEST_HIGHHELP_CALL = assumed.CONNECT_TIMEOUT + max(
    assumed.CREATE_READ_TIMEOUT, assumed.INFO_READ_TIMEOUT, assumed.ACTION_READ_TIMEOUT
)
# What a Heroku-style PaaS waits between SIGTERM and SIGKILL.
PAAS_STOP_GRACE = 30


def gunicorn_settings(tmp_path: Path, **environ: str) -> dict[str, str]:
    """The settings gunicorn runs the Procfile's web line with, in this environment (--print-config)."""
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--print-config", "wsgi:app"]
    # --print-config also loads the app: a local one, with every setting defaulted.
    local = {"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path / "instance")}
    env = {**clean_environ(PROMETHEUS_MULTIPROC_DIR=str(tmp_path), **local), **environ}
    for name in ("WEB_CONCURRENCY", "WEB_THREADS", "PORT", "FORWARDED_ALLOW_IPS", "GUNICORN_CMD_ARGS"):
        if name not in environ:
            env.pop(name, None)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    settings = {}
    for line in done.stdout.splitlines():
        name, separator, value = line.partition(" = ")
        if separator:
            settings[name.strip()] = value.strip()
    return settings


def test_defaults_suit_a_small_dyno(tmp_path: Path) -> None:
    settings = gunicorn_settings(tmp_path)
    assert settings["bind"] == "['0.0.0.0:8000']"
    assert (settings["worker_class"], settings["workers"], settings["threads"]) == ("gthread", "2", "4")
    assert settings["forwarded_allow_ips"] == "['*']"
    assert settings["secure_scheme_headers"] == "{'X-FORWARDED-PROTO': 'https'}"
    assert settings["forwarder_headers"] == "[]"
    # The app logs every request itself.
    assert settings["accesslog"] == "None"
    # Nothing cuts off a HighHelp call that may still answer, and SIGTERM finishes it before SIGKILL.
    assert float(settings["timeout"]) > LONGEST_HIGHHELP_CALL
    assert LONGEST_HIGHHELP_CALL < float(settings["graceful_timeout"]) < PAAS_STOP_GRACE


def test_reads_the_environment(tmp_path: Path) -> None:
    settings = gunicorn_settings(
        tmp_path, PORT="5123", WEB_CONCURRENCY="3", WEB_THREADS="6", FORWARDED_ALLOW_IPS="10.1.2.3"
    )
    assert settings["bind"] == "['0.0.0.0:5123']"
    assert (settings["workers"], settings["threads"]) == ("3", "6")
    assert settings["forwarded_allow_ips"] == "['10.1.2.3']"


# (A bad WEB_CONCURRENCY stops gunicorn itself, which reads it too, before this file is read.)
@pytest.mark.parametrize("name", ["WEB_THREADS", "PORT"])
def test_a_bad_number_stops_with_a_message(tmp_path: Path, name: str) -> None:
    env = {**clean_environ(PROMETHEUS_MULTIPROC_DIR=str(tmp_path)), name: "lots"}
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--print-config", "wsgi:app"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert f"{name}: must be a whole number" in done.stderr + done.stdout


def test_database_pool_has_a_connection_per_thread(make_app: Callable[..., Flask]) -> None:
    # Not connected: the engine is only built, so any PostgreSQL address will do.
    app = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:9/none", WEB_THREADS="6")
    with app.app_context():
        pool = db.engine.pool
        assert pool.size() == 6  # type: ignore[attr-defined]
        assert pool.timeout() < 30  # type: ignore[attr-defined]


def test_sigterm_finishes_a_callback_in_flight(
    app: Flask, database_url: str, tmp_path: Path, double: HighHelpDouble
) -> None:
    """A success alert being applied when the PaaS stops the dyno still gets its 2xx and is stored."""
    if not database_url.startswith("postgresql"):
        pytest.skip("gunicorn runs on PostgreSQL only (TEST_DATABASE_URL)")
    token = make_order(app)
    make_attempt(app, token, "sigterm-1", state="processing:paid")
    alert = signed_alert("sigterm-1", "success")
    blocker = create_engine(database_url)
    with (
        shared_redis(),
        production_server(database_url, tmp_path, double.url, SHARED_REDIS_URL) as shop,
        ThreadPoolExecutor(1) as pool,
        blocker.connect() as connection,
    ):
        # Hold the inbox: the alert's insert waits, mid-request, until this transaction ends.
        connection.execute(text("LOCK TABLE callback_alerts IN EXCLUSIVE MODE"))
        answer = pool.submit(send_alert, shop.url, alert, 60)
        assert wait_until(lambda: _waiting_on_a_lock(blocker), timeout=10), (
            "the alert never reached the inbox"
        )
        os.kill(shop.master_pid, signal.SIGTERM)
        assert wait_until(lambda: "Handling signal: term" in shop.log.read_text(), timeout=10), (
            shop.log.read_text()
        )
        connection.rollback()
        got = answer.result(timeout=30)
        assert (got.status, got.verdict) == (200, "applied"), got
        # The master ends once its workers did: nothing was left for SIGKILL.
        assert wait_until(lambda: _ended(shop.master_pid), timeout=30), shop.log.read_text()[-2000:]
    blocker.dispose()
    assert order_status(app, token) == "paid"
    with app.app_context():
        stored = db.session.execute(
            select(CallbackAlert.verdict).where(CallbackAlert.payment_id == "sigterm-1")
        )
        assert list(stored.scalars()) == ["applied"]


def _waiting_on_a_lock(engine: Engine) -> bool:
    """True while a session waits for a lock in this database (asked in a fresh transaction)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as connection:
        return bool(connection.execute(query).scalar_one())


def _ended(pid: int) -> bool:
    """True once a process exited (a zombie not yet reaped has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"
