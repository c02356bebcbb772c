"""Scale-out pieces: several web and worker processes, the router in front, HighHelp's side of the wire."""

from __future__ import annotations

import contextlib
import functools
import heapq
import io
import itertools
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from checkout.highhelp import client as highhelp_client
from checkout.highhelp import signing
from checkout.sandbox import build_sandbox
from checkout.sandbox.config import SandboxConfig
from checkout.sandbox.services import EXTENSION_KEY
from checkout.sandbox.store import SandboxDelivery, SandboxPayin
from tests.checkout_support import signed_headers
from tests.conftest import PROJECT_ID, callback_signer, merchant_signer
from tests.processes import ROOT, serving_wsgi
from tests.production_support import (
    PROCFILE,
    Answer,
    Shop,
    SignedAlert,
    production_server,
    send_alert,
    wait_until,
)
from tests.sandbox_support import RunningSandbox

# A client of HighHelp names itself with this path prefix, so HighHelp's side can tell processes apart.
VIA = "/via/"


def via(highhelp_url: str, client: str) -> str:
    """HighHelp's base URL as the process named `client` is given it."""
    return f"{highhelp_url}{VIA}{client}"


# -- HighHelp's side: who asked /info about which payment, and when ---------------------------


@dataclass(frozen=True)
class InfoCall:
    """One /info call as HighHelp served it: from the request's arrival to the answer's last byte."""

    payment_id: str
    client: str
    start: float
    end: float


def overlapping(calls: Iterable[InfoCall]) -> list[tuple[InfoCall, InfoCall]]:
    """Pairs of calls about the same payment that HighHelp was serving at the same moment."""
    by_payment: dict[str, list[InfoCall]] = {}
    for call in calls:
        by_payment.setdefault(call.payment_id, []).append(call)
    pairs = []
    for found in by_payment.values():
        found.sort(key=lambda call: call.start)
        for earlier, later in itertools.pairwise(found):
            if later.start < earlier.end:
                pairs.append((earlier, later))
    return pairs


class HighHelpFront:
    """WSGI middleware before the sandbox: strips a client's /via/NAME prefix and records every /info.

    `info_delay` makes each /info answer take that long, as a loaded HighHelp does, so that two
    callers asking about one payment at once would show as overlapping intervals.
    """

    def __init__(self, app: Callable[..., Any], info_delay: float = 0.0) -> None:
        self.app = app
        self.info_delay = info_delay
        self.calls: list[InfoCall] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        client = "direct"
        if path.startswith(VIA):
            client, _, rest = path.removeprefix(VIA).partition("/")
            environ["PATH_INFO"] = "/" + rest
        if environ["PATH_INFO"] != highhelp_client.INFO_PATH:
            passed: Iterable[bytes] = self.app(environ, start_response)
            return passed
        start = time.monotonic()
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        time.sleep(self.info_delay)  # the answer is slow, not the test: HighHelp under load
        answer = b"".join(self.app(environ, start_response))
        try:
            payment_id = str(json.loads(body)["general"]["payment_id"])
        except (ValueError, KeyError, TypeError):
            payment_id = "?"
        with self._lock:
            self.calls.append(InfoCall(payment_id, client, start, time.monotonic()))
        return [answer]

    def recorded(self) -> list[InfoCall]:
        """Every /info served so far."""
        with self._lock:
            return list(self.calls)


@contextlib.contextmanager
def running_fronted_sandbox(
    config: SandboxConfig, info_delay: float
) -> Iterator[tuple[RunningSandbox, HighHelpFront]]:
    """The sandbox served over HTTP behind a HighHelpFront."""
    app = build_sandbox(config)
    front = HighHelpFront(app, info_delay)
    try:
        with serving_wsgi(front) as url:
            client = highhelp_client.HighHelpClient(url, PROJECT_ID, merchant_signer(), timeouts=(2, 5))
            yield RunningSandbox(url, app, client), front
    finally:
        app.extensions[EXTENSION_KEY].close()


def sandbox_alerts(app: Flask, payment_id: str) -> list[dict[str, Any]]:
    """The bodies of the alerts the sandbox queued for a payin, in the order it queued them."""
    store = app.extensions[EXTENSION_KEY].store
    with store.transaction() as session:
        payin = session.query(SandboxPayin).filter_by(payment_id=payment_id).one()
        rows = session.query(SandboxDelivery).filter_by(payin_id=payin.id).order_by(SandboxDelivery.id)
        return [dict(row.body) for row in rows]


@functools.cache
def _highhelp_signer() -> signing.RsaSigner:
    # Loading the key costs far more than signing with it; a thousand alerts share one.
    return callback_signer()


def signed_now(body: dict[str, Any]) -> SignedAlert:
    """A sandbox alert signed at the moment it is sent, as HighHelp signs each try."""
    status = body["status"]
    headers = signed_headers(body, _highhelp_signer())
    data = json.dumps(body, ensure_ascii=False).encode()
    return SignedAlert(body["general"]["payment_id"], status["status"], status["sub_status"], data, headers)


# -- our side: web processes behind a router, reconcile workers ---------------------------------


@contextlib.contextmanager
def web_process(
    database_url: str, folder: Path, highhelp_url: str, redis_url: str, shared: dict[str, str]
) -> Iterator[Shop]:
    """One web process as the Procfile starts it (gunicorn master and workers), with `shared` settings."""
    folder.mkdir(parents=True, exist_ok=True)
    with production_server(database_url, folder, highhelp_url, redis_url, **shared) as shop:
        yield shop


def kill_whole(shop: Shop) -> set[int]:
    """SIGKILL a gunicorn master and its workers at once, as a crashed dyno; the pids killed."""
    pids = {shop.master_pid, *shop.worker_pids()}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not any(_alive(pid) for pid in pids), timeout=10), "killed processes live on"
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] not in "ZX"  # a zombie is dead, only not yet reaped


def procfile_worker_command(*options: str) -> list[str]:
    """The Procfile's `worker` line as argv, flask from this venv, with `options` appended."""
    lines = PROCFILE.read_text("utf-8").splitlines()
    worker = [line.removeprefix("worker:").strip() for line in lines if line.startswith("worker:")]
    assert len(worker) == 1, f"the Procfile must have exactly one worker line: {lines}"
    argv = shlex.split(worker[0])
    assert argv[0] == "flask", f"the worker line does not start flask: {worker[0]}"
    assert "--loop" in argv, f"the worker line does not loop: {worker[0]}"
    return [sys.executable, "-m", "flask", *argv[1:], *options]


@contextlib.contextmanager
def worker_process(
    command: list[str], environ: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process until the block ends, then stopped as the PaaS stops it (SIGTERM)."""
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


class Router:
    """The PaaS router: forwards each request to one of the web processes, skipping a dead one."""

    def __init__(self, shops: list[Shop]) -> None:
        self.shops: list[Shop | None] = list(shops)
        self._lock = threading.Lock()

    def shop(self, index: int) -> Shop:
        """The process at `index`, or the next one up when it is down."""
        with self._lock:
            for offset in range(len(self.shops)):
                found = self.shops[(index + offset) % len(self.shops)]
                if found is not None:
                    return found
        raise AssertionError("every web process is down")

    def down(self, index: int) -> Shop:
        """Take a process out of rotation (its health check failed); the process taken out."""
        with self._lock:
            shop = self.shops[index]
            assert shop is not None
            self.shops[index] = None
            return shop

    def up(self, index: int, shop: Shop) -> None:
        """Put a (re)started process into rotation."""
        with self._lock:
            self.shops[index] = shop


@dataclass(frozen=True)
class Sent:
    """One try at delivering one alert, and what came back."""

    payment_id: str
    state: str
    target: int
    answer: Answer


@dataclass(order=True)
class _Due:
    at: float
    sequence: int
    body: dict[str, Any] = field(compare=False)
    target: int = field(compare=False)
    tries: int = field(compare=False, default=0)


class Courier:
    """HighHelp's callback sender: each alert POSTed through the router when due, retried until a 2xx.

    A try that gets no 2xx (the process died under it, or a 5xx) is sent again after a back-off,
    to the next web process, as the router would pick another.
    """

    RETRY_DELAYS = (0.2, 0.4, 0.8, 1.6, 3.2, 3.2, 3.2, 3.2)

    def __init__(self, router: Router, senders: int = 8) -> None:
        self.router = router
        self.sent: list[Sent] = []
        self.undeliverable: list[dict[str, Any]] = []
        self._queue: list[_Due] = []
        self._sequence = itertools.count()
        self._busy = 0
        self._changed = threading.Condition()
        self._closing = False
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(senders)]

    def __enter__(self) -> Courier:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=15)

    def post(self, body: dict[str, Any], target: int, after: float = 0.0) -> None:
        """Deliver `body` to web process `target` in `after` seconds."""
        with self._changed:
            heapq.heappush(self._queue, _Due(time.monotonic() + after, next(self._sequence), body, target))
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every alert has been delivered or given up on; whether that happened in time."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queue and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._closing and (not self._queue or self._queue[0].at > time.monotonic()):
                    wait = self._queue[0].at - time.monotonic() if self._queue else None
                    self._changed.wait(wait)
                if self._closing:
                    return
                due = heapq.heappop(self._queue)
                self._busy += 1
            try:
                self._try(due)
            finally:
                with self._changed:
                    self._busy -= 1
                    self._changed.notify_all()

    def _try(self, due: _Due) -> None:
        alert = signed_now(due.body)
        answer = send_alert(self.router.shop(due.target).url, alert)
        with self._changed:
            self.sent.append(Sent(alert.payment_id, alert.state, due.target, answer))
            if answer.status is not None and 200 <= answer.status < 300:
                return
            if due.tries >= len(self.RETRY_DELAYS):
                self.undeliverable.append(due.body)
                return
            retry = _Due(
                time.monotonic() + self.RETRY_DELAYS[due.tries],
                next(self._sequence),
                due.body,
                due.target + 1,
                due.tries + 1,
            )
            heapq.heappush(self._queue, retry)
            self._changed.notify_all()
