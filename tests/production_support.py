"""The app as the Procfile runs it in production, and the loopback peers a test puts around it."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import multiprocessing
import os
import secrets
import shlex
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from checkout.config import DEFAULT_WEB_THREADS
from checkout.highhelp import signing
from tests.checkout_support import CSRF, KIND_OF, alert_body, signed_headers
from tests.conftest import callback_signer, make_environ
from tests.highhelp_double import HighHelpDouble
from tests.processes import ROOT, clean_environ, free_port, serving

PROCFILE = ROOT / "Procfile"
# Production runs on PostgreSQL: what is proven in its shape is proven there only.
ON_POSTGRESQL_ONLY = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="runs only on PostgreSQL, as production does: set TEST_DATABASE_URL",
)
PUBLIC_BASE_URL = "https://shop.example.test"
REDIS_URL = "redis://127.0.0.1:6379/0"
WEB_CONCURRENCY = 2
# HighHelp's address as our router would forward it; any address will do, it only has to be valid.
HIGHHELP_IP = "192.0.2.10"


def procfile_web_command(port: int) -> list[str]:
    """The Procfile's `web` line as argv: gunicorn from this venv, loopback only.

    gunicorn.conf.py reads the rest (workers, threads, timeouts) from the environment, as on the PaaS.
    """
    lines = PROCFILE.read_text("utf-8").splitlines()
    web = [line.removeprefix("web:").strip() for line in lines if line.startswith("web:")]
    assert len(web) == 1, f"the Procfile must have exactly one web line: {lines}"
    assert "$" not in web[0], f"the web line uses a variable; gunicorn.conf.py reads them: {web[0]}"
    argv = shlex.split(web[0])
    assert argv[0] == "gunicorn", f"the web line does not start gunicorn: {web[0]}"
    assert "--bind" not in argv, f"gunicorn.conf.py binds $PORT: {web[0]}"
    # gunicorn.conf.py binds every interface on $PORT, since the PaaS router reaches the dyno from
    # outside. A test server running with test keys must not be reachable from the network: bind
    # loopback instead (the command line overrides the file), and change nothing else.
    return [sys.executable, "-m", "gunicorn", *argv[1:], "--bind", f"127.0.0.1:{port}"]


def option(argv: list[str], name: str) -> int:
    """The whole-number value of `name VALUE` in a command line."""
    assert argv.count(name) == 1, f"{name} must appear once in {argv}"
    return int(argv[argv.index(name) + 1])


def production_environ(
    database_url: str, tmp_path: Path, port: int, highhelp_url: str, redis_url: str, **overrides: str
) -> dict[str, str]:
    """Every setting APP_ENV=production requires, with the shared test keys and loopback peers."""
    defaults = {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "HIGHHELP_API_URL": highhelp_url,
        "REDIS_URL": redis_url,
        # Keeps this server's rate-limit counters apart in the shared Redis (an app that does not
        # read it yet relies on the fresh orders and client addresses every test uses).
        "REDIS_KEY_PREFIX": f"prodshape-{secrets.token_hex(6)}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WEB_CONCURRENCY),
    }
    # Overrides may replace any default: processes that share a SECRET_KEY or Redis prefix, say.
    environ = make_environ(database_url, **{**defaults, **overrides})
    # Production never mounts the sandbox; its key has no business in this environment.
    environ.pop("SANDBOX_CALLBACK_PRIVATE_KEY_FILE")
    # gunicorn.conf.py would make a temporary folder for the workers' metrics and remove it when the
    # master exits; a test that SIGKILLs the master would leave it behind. Keep it with the test's files.
    environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    # gunicorn reads extra options from here, which would make the command differ from the Procfile.
    return {key: value for key, value in clean_environ(**environ).items() if key != "GUNICORN_CMD_ARGS"}


def children(pid: int) -> set[int]:
    """The ids of the processes whose parent is `pid` (this kernel has no /proc/PID/task/*/children)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended while we looked
        # The command name in parentheses may hold spaces; the parent id follows the state.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def command_line(pid: int) -> str:
    """A process's command line, or "" once it has ended."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def app_loaded(pid: int) -> bool:
    """True once a worker has imported the app: the PostgreSQL driver is mapped into it then."""
    try:
        return "psycopg" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def bytes_written(pid: int) -> int:
    """Bytes a process has written so far (responses, access-log lines, database traffic)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError(f"no wchar in /proc/{pid}/io")


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def client_ip() -> str:
    """A fresh client address, so per-address rate-limit counters in the shared Redis start empty."""
    documentation = int(ipaddress.IPv6Address("2001:db8::"))
    return str(ipaddress.IPv6Address(documentation + secrets.randbits(96)))


@dataclass
class Shop:
    """The app under gunicorn, reached the way the PaaS router forwards requests to it."""

    url: str
    master_pid: int
    workers: int
    threads: int
    log: Path

    def request(
        self,
        method: str,
        path: str,
        *,
        ip: str,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> requests.Response:
        """One request as the router sends it on: https, and the client's address (one proxy, trusted)."""
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": ip, **(headers or {})}
        return requests.request(
            method, self.url + path, headers=forwarded, timeout=timeout, allow_redirects=False, **kwargs
        )

    def worker_pids(self) -> set[int]:
        """The gunicorn workers running now."""
        return children(self.master_pid)

    def wait_for_workers(self, timeout: float = 20.0) -> set[int]:
        """The workers, once all of them run with the app loaded."""

        def ready() -> bool:
            pids = self.worker_pids()
            return len(pids) == self.workers and all(app_loaded(pid) for pid in pids)

        assert wait_until(ready, timeout), f"workers did not come up:\n{self.log.read_text()[-3000:]}"
        return self.worker_pids()


@contextlib.contextmanager
def production_server(
    database_url: str, tmp_path: Path, highhelp_url: str, redis_url: str = REDIS_URL, **overrides: str
) -> Iterator[Shop]:
    """gunicorn exactly as the Procfile's web line starts it, with APP_ENV=production, on loopback."""
    assert database_url.startswith("postgresql"), "production runs on PostgreSQL"
    port = free_port()
    command = procfile_web_command(port)
    environ = production_environ(database_url, tmp_path, port, highhelp_url, redis_url, **overrides)
    log = tmp_path / "gunicorn.log"
    with serving(command, environ, port, log) as url:
        bound = f"127.0.0.1:{port}"
        masters = [pid for pid in children(os.getpid()) if bound in command_line(pid)]
        assert len(masters) == 1, f"cannot tell the gunicorn master among {masters}"
        # What gunicorn.conf.py starts from this environment.
        threads = int(environ.get("WEB_THREADS", DEFAULT_WEB_THREADS))
        shop = Shop(url, masters[0], int(environ["WEB_CONCURRENCY"]), threads, log)
        shop.wait_for_workers()
        yield shop


@dataclass
class Customer:
    """A browser behind the router: keeps the Secure session cookie itself, since it is on http here."""

    shop: Shop
    ip: str = field(default_factory=client_ip)
    cookie: str = ""
    csrf_token: str = ""

    def open_order(self, token: str, timeout: float = 10.0) -> requests.Response:
        """GET the order page, keeping its session cookie and the pay form's CSRF token."""
        response = self.shop.request("GET", f"/orders/{token}", ip=self.ip, timeout=timeout)
        assert response.status_code == 200, response.text[:500]
        session = response.cookies.get("session")
        assert session, f"no session cookie in {response.headers}"
        match = CSRF.search(response.text)
        assert match, "the order page has no pay form with a csrf_token"
        self.cookie, self.csrf_token = session, match[1]
        return response

    def press_pay(self, token: str, ip: str | None = None, timeout: float = 10.0) -> requests.Response:
        """POST the pay form as the browser would, from `ip` (default: this customer's address)."""
        headers = {
            "Cookie": f"session={self.cookie}",
            # Flask-WTF checks the Referer on https requests, as a browser sends it.
            "Referer": f"https://{self.shop.url.removeprefix('http://')}/orders/{token}",
        }
        return self.shop.request(
            "POST",
            f"/orders/{token}/pay",
            ip=ip or self.ip,
            headers=headers,
            data={"csrf_token": self.csrf_token},
            timeout=timeout,
        )


@dataclass(frozen=True)
class SignedAlert:
    """One alert as HighHelp sends it: the exact bytes and headers, so it can be replayed unchanged."""

    payment_id: str
    status: str
    sub_status: str | None
    data: bytes
    headers: dict[str, str]

    @property
    def path(self) -> str:
        """The callback URL its status belongs to."""
        return f"/highhelp/callbacks/{KIND_OF.get(self.status, 'info')}"

    @property
    def state(self) -> str:
        """The state as the inbox stores it."""
        return f"{self.status}:{self.sub_status}" if self.sub_status else self.status


@functools.cache
def _highhelp_signer() -> signing.RsaSigner:
    # Loading the key costs far more than signing with it; hundreds of alerts share one.
    return callback_signer()


def signed_alert(payment_id: str, status: str, sub_status: str | None = None) -> SignedAlert:
    """An alert signed with HighHelp's test key."""
    body = alert_body(payment_id, status, sub_status)
    headers = signed_headers(body, _highhelp_signer())
    return SignedAlert(payment_id, status, sub_status, json.dumps(body).encode(), headers)


@dataclass(frozen=True)
class Answer:
    """What our server answered to one request, or the connection error instead."""

    status: int | None
    verdict: str | None
    error: str | None
    elapsed: float


def send_alert(url: str, alert: SignedAlert, timeout: float = 10.0) -> Answer:
    """POST a signed alert through the router; connection errors are answers too."""
    started = time.monotonic()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": HIGHHELP_IP, **alert.headers}
    try:
        response = requests.post(url + alert.path, data=alert.data, headers=headers, timeout=timeout)
    except requests.RequestException as exc:  # no answer at all, whatever broke the connection
        return Answer(None, None, f"{type(exc).__name__}: {exc}", time.monotonic() - started)
    try:
        verdict = response.json().get("verdict")
    except ValueError:
        verdict = None
    return Answer(response.status_code, verdict, None, time.monotonic() - started)


def _sending_process(
    url: str,
    index: int,
    alerts: list[SignedAlert],
    repeats: int,
    start: Any,
    results: Any,
) -> None:
    """In a child process: send every alert `repeats` times, all at once, once every process is ready."""
    try:
        jobs = [alert for alert in alerts for _ in range(repeats)]
        together = threading.Barrier(len(jobs), timeout=30)

        def send(alert: SignedAlert) -> Answer:
            together.wait()
            return send_alert(url, alert)

        start.wait(30)
        with ThreadPoolExecutor(len(jobs)) as pool:
            results.put((index, list(pool.map(send, jobs)), None))
    except Exception:  # noqa: BLE001 - the parent reports the child's failure
        results.put((index, [], traceback.format_exc()))


def send_from_processes(
    url: str, batches: list[list[SignedAlert]], repeats: int = 1, timeout: float = 60.0
) -> list[list[tuple[SignedAlert, Answer]]]:
    """One OS process per batch sends it concurrently with the others; each alert with its answer."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited mid-lock
    start = context.Barrier(len(batches))
    results = context.Queue()
    processes = [
        context.Process(target=_sending_process, args=(url, index, batch, repeats, start, results))
        for index, batch in enumerate(batches)
    ]
    for process in processes:
        process.start()
    collected: dict[int, list[Answer]] = {}
    try:
        deadline = time.monotonic() + timeout
        for _ in batches:
            index, answers, failure = results.get(timeout=max(0.1, deadline - time.monotonic()))
            assert failure is None, f"sending process {index} failed:\n{failure}"
            collected[index] = answers
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        results.close()
        results.join_thread()
    return [
        list(zip([alert for alert in batch for _ in range(repeats)], collected[index], strict=True))
        for index, batch in enumerate(batches)
    ]


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request read off a raw socket."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def payment_id(self) -> str | None:
        """general.payment_id of a HighHelp request body, if it has one."""
        try:
            return str(json.loads(self.body)["general"]["payment_id"])
        except (ValueError, KeyError, TypeError):
            return None


def read_http_request(connection: socket.socket, limit: int = 1 << 20) -> HttpRequest | None:
    """One request with a Content-Length body; None if the peer went away first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk or len(data) > limit:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < min(length, limit):
        chunk = connection.recv(65536)
        if not chunk:
            return None
        body += chunk
    return HttpRequest(method, path, headers, body[:length])


def answered_by(double: HighHelpDouble) -> Callable[[HttpRequest], bytes]:
    """A handler that lets `double` answer a raw request, as an HTTP/1.1 response that closes."""

    def answer(request: HttpRequest) -> bytes:
        skip = {"host", "content-length", "connection"}
        headers = {name: value for name, value in request.headers.items() if name not in skip}
        builder = EnvironBuilder(method=request.method, path=request.path, data=request.body, headers=headers)
        try:
            response = Response.from_app(double, builder.get_environ())
        finally:
            builder.close()
        body = response.get_data()
        head = (
            f"HTTP/1.1 {response.status_code} {HTTPStatus(response.status_code).phrase}\r\n"
            f"Content-Type: {response.content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        return head.encode("latin-1") + body

    return answer


class StallingServer:
    """A loopback TCP server that accepts connections and never answers them until released.

    With `read_http` it reads each held request first, so a test can see what was asked. After
    `release()` the held connections are closed; new ones go to `after_release`, or are closed.
    """

    def __init__(
        self, *, read_http: bool = False, after_release: Callable[[HttpRequest], bytes] | None = None
    ) -> None:
        self.read_http = read_http
        self.after_release = after_release
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = int(self.listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.held: list[socket.socket] = []
        self.stalled_requests: list[HttpRequest] = []
        self.passed_requests: list[HttpRequest] = []
        self.accepted = 0
        self._changed = threading.Condition()
        self._released = threading.Event()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> StallingServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_for(self, condition: Callable[[StallingServer], bool], timeout: float) -> bool:
        """Wait until `condition(self)` holds, at most `timeout` seconds; whether it held."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)

    def release(self) -> None:
        """End the stall: close every held connection; later ones are answered or closed."""
        self._released.set()
        with self._changed:
            for connection in self.held:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Release, stop accepting, and wait for every connection's thread."""
        self.release()
        self._closing.set()
        if self._acceptor.is_alive():
            self._acceptor.join(timeout=5)
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(10)
            try:
                if self._released.is_set():
                    self._pass(connection)
                    return
                with self._changed:
                    self.held.append(connection)
                    self.accepted += 1
                    self._changed.notify_all()
                if self.read_http:
                    request = read_http_request(connection)
                    with self._changed:
                        if request is not None:
                            self.stalled_requests.append(request)
                        self._changed.notify_all()
                # Bounded, so a forgotten release cannot keep a thread forever.
                self._released.wait(timeout=120)
            except OSError:
                return

    def _pass(self, connection: socket.socket) -> None:
        if self.after_release is None:
            return
        request = read_http_request(connection)
        if request is None:
            return
        with self._changed:
            self.passed_requests.append(request)
            self._changed.notify_all()
        connection.sendall(self.after_release(request))
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_WR)
