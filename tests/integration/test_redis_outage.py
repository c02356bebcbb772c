"""Rate limits fail open: a Redis that is down or stalled never stops a payment, and is logged quietly."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from flask import Flask

from checkout.extensions import limiter
from checkout.ratelimits import (
    FALLBACK_WARNING,
    LIMITER_LOGGER,
    OUTAGE_LOG_INTERVAL,
    PAY_LIMIT_PER_ORDER,
    REDIS_CONNECT_TIMEOUT,
    REDIS_READ_TIMEOUT,
    REDIS_RETRIES,
    OutageLogThrottle,
    storage_options,
    storage_uri,
)
from tests.checkout_support import make_order
from tests.highhelp_double import HighHelpDouble
from tests.processes import free_port
from tests.redis_support import SHARED_REDIS_URL, counters, shared_redis

SHARED_REDIS_ADDRESS = ("127.0.0.1", 6379)
# A stand-in stops by itself after this, so a test that hangs on it (old code: redis-py's 5 s timeouts
# and ten retries) fails within seconds instead of hanging the run.
STAND_IN_LIFETIME = 20.0
ACCEPT_POLL = 0.05
# The longest a request may wait on a stalled Redis: every try times out on connect or read.
STALL_BOUND = (1 + REDIS_RETRIES) * (REDIS_CONNECT_TIMEOUT + REDIS_READ_TIMEOUT) + 1.0
# Flask-Limiter re-checks a dead storage after 1, 2, 4 … s (the count starts again for each app).
RECOVERY_DEADLINE = 10.0
POLL = 0.1
# Enough simultaneous requests that several are talking to Redis when it fails.
BURST = 8


class RedisStandIn:
    """A stalled Redis on a loopback port (accepts, never answers) until `forward()` pipes to a real one."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(ACCEPT_POLL)
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/15"
        self.connections = 0
        self.target: tuple[str, int] | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # It stops by itself after STAND_IN_LIFETIME, or at the end of its `with` block.
        self._deadline = time.monotonic() + STAND_IN_LIFETIME
        self._thread = threading.Thread(target=self._serve, name="redis-stand-in", daemon=True)

    def __enter__(self) -> RedisStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def forward(self, target: tuple[str, int]) -> None:
        """From now on, pipe new connections to `target`; drop the stalled ones."""
        with self._lock:
            self.target = target
            self._close(self._sockets)
            self._sockets = []

    def _serve(self) -> None:
        try:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                try:
                    connection, _ = self.listener.accept()
                except TimeoutError:
                    continue
                with self._lock:
                    self.connections += 1
                    self._sockets.append(connection)
                    if self.target is not None:
                        self._pipe(connection, self.target)
        finally:
            with self._lock:
                self._close([*self._sockets, self.listener])

    def _pipe(self, client: socket.socket, target: tuple[str, int]) -> None:
        client.settimeout(None)
        upstream = socket.create_connection(target, timeout=1)
        upstream.settimeout(None)
        self._sockets.append(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_copy, args=(source, sink), daemon=True).start()

    @staticmethod
    def _close(sockets: list[socket.socket]) -> None:
        for sock in sockets:
            # shutdown wakes a copier blocked in recv(); close alone would not.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _copy(source: socket.socket, sink: socket.socket) -> None:
    """Copy bytes one way until either side closes."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def shop_with_redis_at(make_app: Callable[..., Flask], double: HighHelpDouble) -> Callable[..., Flask]:
    """Build the shop (HighHelp = the double) with its rate limits in the Redis at `url`."""

    def build(url: str, **settings: str) -> Flask:
        app = make_app(HIGHHELP_API_URL=double.url, REDIS_URL=url, **settings)
        app.config["WTF_CSRF_ENABLED"] = False  # these tests are about the limits, not the form
        return app

    return build


def down_redis_url() -> str:
    """A Redis URL on a loopback port where nothing listens."""
    return f"redis://127.0.0.1:{free_port()}/0"


def poll_status(app: Flask, token: str) -> int:
    return app.test_client().get(f"/orders/{token}/status").status_code


def press_pay(app: Flask, token: str) -> int:
    return app.test_client().post(f"/orders/{token}/pay").status_code


def outage_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LIMITER_LOGGER and r.levelno >= logging.WARNING]


def test_a_payment_goes_through_while_redis_is_down(
    shop_with_redis_at: Callable[..., Flask], double: HighHelpDouble
) -> None:
    app = shop_with_redis_at(down_redis_url())
    token = make_order(app)
    response = app.test_client().post(f"/orders/{token}/pay")
    assert response.status_code == 303
    assert response.headers["Location"] == "https://ppage.example.kz/widget/abc123"
    assert [path for path, _, _ in double.received] == ["/api/v1/widget/payin"]
    assert poll_status(app, token) == 200
    assert app.test_client().get(f"/orders/{token}").status_code == 200


def test_without_redis_the_limits_still_hold_per_process(shop_with_redis_at: Callable[..., Flask]) -> None:
    app = shop_with_redis_at(down_redis_url())
    token = make_order(app)
    codes = [press_pay(app, token) for _ in range(PAY_LIMIT_PER_ORDER + 1)]
    assert codes == [303] * PAY_LIMIT_PER_ORDER + [429]


def test_a_stalled_redis_costs_a_request_a_bounded_wait(shop_with_redis_at: Callable[..., Flask]) -> None:
    with RedisStandIn() as stalled:
        app = shop_with_redis_at(stalled.url)
        token = make_order(app)
        started = time.monotonic()
        assert press_pay(app, token) == 303
        assert time.monotonic() - started < STALL_BOUND
        assert stalled.connections >= 1  # it really was asked, and never answered
        codes = [press_pay(app, token) for _ in range(PAY_LIMIT_PER_ORDER)]
        assert codes == [303] * (PAY_LIMIT_PER_ORDER - 1) + [429]
        assert time.monotonic() - started < 2 * STALL_BOUND


def test_an_outage_is_logged_once_however_many_requests_meet_it(
    shop_with_redis_at: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LIMITER_LOGGER)
    with RedisStandIn() as stalled:
        app = shop_with_redis_at(stalled.url)
        token = make_order(app)
        lined_up = threading.Barrier(BURST, timeout=10)

        def poll_together(_: int) -> int:
            lined_up.wait()
            return poll_status(app, token)

        # Requests already waiting on Redis when it fails are each logged by Flask-Limiter.
        with ThreadPoolExecutor(BURST) as pool:
            codes = list(pool.map(poll_together, range(BURST)))
        codes += [poll_status(app, token) for _ in range(20)]
    assert codes == [200] * (BURST + 20)
    [line] = outage_records(caplog)
    assert line.getMessage().startswith(FALLBACK_WARNING)


def test_the_outage_log_lets_one_line_through_a_minute_and_counts_the_rest() -> None:
    now = 1000.0
    throttle = OutageLogThrottle(clock=lambda: now)

    def record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
        return logging.LogRecord(LIMITER_LOGGER, level, __file__, 1, message, (), None)

    outage = f"{FALLBACK_WARNING} - falling back to in-memory storage"
    assert throttle.filter(record(outage))
    assert not any(throttle.filter(record(outage)) for _ in range(5))
    try:
        raise redis.exceptions.ConnectionError("Connection refused")
    except redis.exceptions.ConnectionError as exc:
        swallowed = record("Failed to rate limit. Swallowing error", logging.ERROR)
        swallowed.exc_info = (type(exc), exc, exc.__traceback__)
    assert not throttle.filter(swallowed)
    assert throttle.filter(record("Rate limit storage recovered", logging.INFO))
    now += OUTAGE_LOG_INTERVAL
    later = record(outage)
    assert throttle.filter(later)
    assert later.getMessage() == f"{outage} (6 more like it since the last one logged)"


def test_the_health_check_never_waits_on_redis(
    shop_with_redis_at: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    with RedisStandIn() as stalled:
        app = shop_with_redis_at(stalled.url)
        token = make_order(app)
        assert poll_status(app, token) == 200  # Redis stalls: per-process limits from now on
        # Flask-Limiter re-checks a dead storage on the next request once its backoff has passed.
        monkeypatch.setattr(limiter, "_Limiter__last_check_backend", 0.0)
        seen = stalled.connections
        assert app.test_client().get("/healthz").status_code == 200
        assert stalled.connections == seen
        # A re-check was due: the next page does ask Redis.
        assert app.test_client().get(f"/orders/{token}").status_code == 200
        assert stalled.connections > seen


def test_shared_limits_resume_when_redis_is_back(
    shop_with_redis_at: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LIMITER_LOGGER)
    with shared_redis() as (store, prefix), RedisStandIn() as door:
        app = shop_with_redis_at(door.url, REDIS_KEY_PREFIX=prefix)
        token = make_order(app)
        assert poll_status(app, token) == 200
        assert counters(store, prefix, token) == []
        door.forward(SHARED_REDIS_ADDRESS)
        deadline = time.monotonic() + RECOVERY_DEADLINE
        while not counters(store, prefix, token):
            assert time.monotonic() < deadline, "the limiter did not go back to Redis"
            assert poll_status(app, token) == 200
            time.sleep(POLL)
        assert "Rate limit storage recovered" in caplog.text
        before = counters(store, prefix, token)
        assert poll_status(app, token) == 200
        assert [count - 1 for count in counters(store, prefix, token)] == before


def test_an_app_built_after_an_outage_counts_in_redis_from_its_first_request(
    shop_with_redis_at: Callable[..., Flask],
) -> None:
    with shared_redis() as (store, prefix):
        broken = shop_with_redis_at(down_redis_url())
        token = make_order(broken)
        assert poll_status(broken, token) == 200
        healthy = shop_with_redis_at(SHARED_REDIS_URL, REDIS_KEY_PREFIX=prefix)
        assert poll_status(healthy, token) == 200
        assert counters(store, prefix, token) == [1]


def test_redis_client_options_are_short_and_memory_needs_none() -> None:
    options = storage_options("redis://redis.internal:6379/0")
    assert options["socket_connect_timeout"] == REDIS_CONNECT_TIMEOUT <= 1
    assert options["socket_timeout"] == REDIS_READ_TIMEOUT <= 1
    assert options["retry"].get_retries() == REDIS_RETRIES
    assert storage_options(None) == {}
    assert storage_uri(None) == "memory://"
    assert storage_uri("rediss://r.internal:6380/1") == "rediss://r.internal:6380/1"
    # limits knows a Redis socket as redis+unix://, which REDIS_URL spells unix://.
    assert storage_uri("unix:///run/redis.sock?db=2") == "redis+unix:///run/redis.sock?db=2"
