"""Rate limits that fail open: a Redis outage falls back to per-process limits and is logged once a minute."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter
from limits.errors import StorageError
from limits.storage import MemoryStorage
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

LIMITER_LOGGER = "flask-limiter"
MEMORY_STORAGE = "memory://"
# limits names a Redis socket redis+unix://; redis-py and our REDIS_URL say unix://.
UNIX_SOCKET_SCHEMES = ("unix://", "redis+unix://")
# Redis answers a rate-limit check in well under a millisecond on the PaaS network, so a check that takes
# longer than this means Redis is in trouble, and a payment must not wait for it. (redis-py's defaults are
# 5 s and ten retries: a stalled Redis would hold every request for close to a minute.)
REDIS_CONNECT_TIMEOUT = 0.25
REDIS_READ_TIMEOUT = 0.25
# One immediate retry: a pooled connection that Redis closed (restart, idle timeout) fails once and then
# reconnects; more retries would only multiply the wait while Redis is down or stalled.
REDIS_RETRIES = 1
# An outage can last hours and every request meets it; one line a minute tells the operator enough.
OUTAGE_LOG_INTERVAL = 60.0
# Flask-Limiter's warning when it switches to in-memory limits (its other outage records carry the error).
FALLBACK_WARNING = "Rate limit storage unreachable"
# The limits, in requests a minute: pressing Pay from one client address and on one order, and polling
# one order's status fragment.
PAY_LIMIT_PER_CLIENT = 10
PAY_LIMIT_PER_ORDER = 6
STATUS_LIMIT_PER_ORDER = 120
# The PaaS's liveness and readiness probes never wait on Redis for a rate limit (readiness pings it itself).
HEALTH_ENDPOINTS = frozenset({"health.healthz", "health.readyz"})
# How often in-process limits drop the counters of windows that are over, in seconds.
MEMORY_SWEEP_INTERVAL = 10.0


def per_minute(count: int) -> str:
    """A limit of `count` requests a minute, in Flask-Limiter's words."""
    return f"{count} per minute"


def storage_uri(redis_url: str | None) -> str:
    """Where Flask-Limiter keeps its counters: REDIS_URL, or this process's memory."""
    if redis_url is None:
        return MEMORY_STORAGE
    unix, limits_unix = UNIX_SOCKET_SCHEMES
    return limits_unix + redis_url.removeprefix(unix) if redis_url.startswith(unix) else redis_url


def storage_options(redis_url: str | None) -> dict[str, Any]:
    """Keyword arguments for the Redis client: short timeouts, one retry; nothing for memory."""
    if redis_url is None:
        return {}
    return {
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
        "socket_timeout": REDIS_READ_TIMEOUT,
        "retry": Retry(NoBackoff(), REDIS_RETRIES),
    }


def is_outage(record: logging.LogRecord) -> bool:
    """True for Flask-Limiter's records about its storage being unreachable."""
    error = record.exc_info[1] if record.exc_info else None
    return isinstance(error, RedisError | StorageError) or str(record.msg).startswith(FALLBACK_WARNING)


class OutageLogThrottle(logging.Filter):
    """Lets one outage record through per interval; the next one says how many were held back."""

    def __init__(
        self, interval: float = OUTAGE_LOG_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._held_back = 0

    def reset(self) -> None:
        """Forget earlier outages: the next outage record is logged."""
        with self._lock:
            self._last, self._held_back = None, 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass everything but outage records seen within the interval."""
        if not is_outage(record):
            return True
        with self._lock:
            now = self.clock()
            if self._last is not None and now - self._last < self.interval:
                self._held_back += 1
                return False
            held_back, self._last, self._held_back = self._held_back, now, 0
        if held_back:
            record.msg = f"{record.getMessage()} ({held_back} more like it since the last one logged)"
            record.args = ()
        return True


OUTAGE_LOG = OutageLogThrottle()


class SweepingMemoryStorage(MemoryStorage):
    """limits' in-process counters without a timer thread per hit; used for memory:// and the fallback."""

    # Registering the scheme again makes memory:// build this class (limits keeps the last one).
    STORAGE_SCHEME = [MEMORY_STORAGE.removesuffix("://")]  # noqa: RUF012 (limits reads it so)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._sweep_lock = threading.Lock()
        self._next_sweep = time.monotonic() + MEMORY_SWEEP_INTERVAL

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (limits' private hook)
        # limits starts a 10 ms timer thread here at nearly every hit, and each one scans every
        # counter. A counter read after its window is dropped by the read itself, so only those
        # nobody reads again need sweeping, and now and then is enough.
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + MEMORY_SWEEP_INTERVAL
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._sweep_lock.release()


class CheckoutLimiter(Limiter):
    """Flask-Limiter with fail-open settings, a quiet outage log and per-app state."""

    def __init__(self, key_func: Callable[[], str]) -> None:
        # On a storage error Flask-Limiter switches to in-memory limits (the same limits, per process)
        # and re-checks the storage with a backoff of 1, 2, 4 … 32 s; swallowing errors covers requests
        # already talking to Redis when it failed, which then pass unlimited instead of answering 500.
        super().__init__(key_func=key_func, in_memory_fallback_enabled=True, swallow_errors=True)
        self.request_filter(_is_health_check)

    def init_app(self, app: Flask) -> None:
        """Attach to `app`, starting from a healthy storage and a fresh outage log."""
        # Flask-Limiter 4.1 keeps this state on the limiter object, and one object serves every app a
        # process builds (tests build many): an outage or a key prefix seen by an earlier app must not
        # carry over. In production there is one app per process and this changes nothing.
        self._storage_dead = False
        self._key_prefix = ""
        self._Limiter__check_backend_count = 0
        self._Limiter__last_check_backend = time.time()
        logger = logging.getLogger(LIMITER_LOGGER)
        if OUTAGE_LOG not in logger.filters:
            logger.addFilter(OUTAGE_LOG)
        OUTAGE_LOG.reset()
        super().init_app(app)
        if self._fallback_limiter is not None:
            # Flask-Limiter builds its fallback from limits' own class, timer threads and all.
            self._fallback_storage = SweepingMemoryStorage()
            self._fallback_limiter = type(self._fallback_limiter)(self._fallback_storage)


def _is_health_check() -> bool:
    """Skip rate limiting (and its storage re-checks) entirely for the health checks."""
    return request.endpoint in HEALTH_ENDPOINTS
