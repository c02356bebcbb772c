"""Is this process ready to take payments? Each check answers quickly, timed, with a short detail."""

from __future__ import annotations

import enum
import functools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from .config import Settings
from .extensions import db
from .gateway import current_settings
from .highhelp import signing
from .ratelimits import REDIS_CONNECT_TIMEOUT, REDIS_READ_TIMEOUT

MIGRATIONS_DIRECTORY = str(Path(__file__).resolve().parent.parent / "migrations")
# A PaaS probes readiness every few seconds with a timeout of a few seconds: a database that does not
# answer within this is "not ready", answered at once rather than after the pool's 30 s wait.
# (libpq waits at least 2 s to connect whatever it is told.)
DATABASE_TIMEOUT_SECONDS = 2
PROBE_ENGINE_KEY = "checkout.readiness_engine"
# Every probe opens a database connection of its own: however often /readyz is asked, a process runs
# one probe at a time and its answer serves everyone for this long.
ANSWER_REUSED_SECONDS = 1.0
LAST_ANSWER_KEY = "checkout.readiness_last_answer"
REDIS_CLIENT_KEY = "checkout.readiness_redis"


class Check(enum.StrEnum):
    """What readiness looks at, by the name /readyz and check-config report it under."""

    DATABASE = "database"
    MIGRATIONS = "migrations"
    KEYS = "keys"
    HIGHHELP_URL = "highhelp_url"
    REDIS = "redis"


class Status(enum.StrEnum):
    """The verdict of all checks together."""

    READY = "ready"
    DEGRADED = "degraded"
    NOT_READY = "not ready"


# Checks whose failure only degrades the service: rate limits fall back to per-process memory.
OPTIONAL_CHECKS = frozenset({Check.REDIS})


@dataclass(frozen=True)
class Result:
    """One check's outcome: ok, how long it took, and a short detail with no secret in it."""

    ok: bool
    ms: float
    detail: str

    def as_json(self) -> dict[str, Any]:
        """The check as /readyz shows it."""
        return {"ok": self.ok, "ms": round(self.ms, 1), "detail": self.detail}


@functools.cache
def migration_heads() -> frozenset[str]:
    """The revisions the code's migrations end at; read once, they cannot change while running."""
    return frozenset(ScriptDirectory(MIGRATIONS_DIRECTORY).get_heads())


def probe_engine(app: Flask) -> Engine:
    """An engine for probes only: a fresh connection each time, with short timeouts.

    The app's pool may be exhausted by busy threads, and waiting for it would hang the probe; a
    connection of its own says at once whether the database itself answers.
    """
    engine: Engine | None = app.extensions.get(PROBE_ENGINE_KEY)
    if engine is None:
        url = db.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            # A memory database exists only inside the app's own engine.
            engine = db.engine
        else:
            connect_args = _connect_args(url.get_backend_name())
            engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
        engine = app.extensions.setdefault(PROBE_ENGINE_KEY, engine)
    return engine


def _connect_args(backend: str) -> dict[str, Any]:
    if backend == "postgresql":
        return {"connect_timeout": DATABASE_TIMEOUT_SECONDS}
    if backend == "sqlite":
        return {"timeout": DATABASE_TIMEOUT_SECONDS}
    return {}


def _limit_statement_time(connection: Connection) -> None:
    # SET LOCAL ends with the transaction, so it also holds behind a transaction-pooling proxy.
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL statement_timeout = {DATABASE_TIMEOUT_SECONDS * 1000}"))


def _failure(error: BaseException) -> str:
    """The driver's error class: its message may name the host and user, the class says enough."""
    cause = getattr(error, "orig", None) or error
    return type(cause).__name__


@dataclass(frozen=True)
class DatabaseState:
    """What one probe of the database found: the database and migrations checks."""

    database: Result
    migrations: Result


def probe_database(engine: Engine) -> DatabaseState:
    """SELECT 1, then the revisions alembic_version holds, on one short-lived connection."""
    started = time.monotonic()
    database: Result | None = None
    try:
        with engine.connect() as connection, connection.begin():
            _limit_statement_time(connection)
            connection.execute(text("SELECT 1"))
            database = Result(True, _since(started), f"{engine.dialect.name} answers")
            started = time.monotonic()
            revisions = _revisions(connection)
    except SQLAlchemyError as exc:
        if database is None:
            unreachable = Result(False, _since(started), f"unreachable ({_failure(exc)})")
            return DatabaseState(unreachable, Result(False, 0.0, "database unreachable"))
        unread = Result(False, _since(started), f"cannot read alembic_version ({_failure(exc)})")
        return DatabaseState(database, unread)
    return DatabaseState(database, migrations_result(revisions, _since(started)))


def _revisions(connection: Connection) -> frozenset[str]:
    """The revisions alembic_version holds; empty when the database was never migrated."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version")))


def migrations_result(revisions: frozenset[str], ms: float) -> Result:
    """At head when the database is at exactly the revisions the code's migrations end at."""
    heads = ", ".join(sorted(migration_heads()))
    if revisions == migration_heads():
        return Result(True, ms, f"at head {heads}")
    found = ", ".join(sorted(revisions)) or "no revision (never migrated)"
    return Result(False, ms, f"database at {found}, code expects {heads}: run `flask --app wsgi db upgrade`")


def keys_result(settings: Settings) -> Result:
    """Our request key and HighHelp's callback key(s) were loaded."""
    started = time.monotonic()
    signer, verifier = settings.request_signer, settings.callback_verifier
    ok = signer is not None and verifier is not None
    request_kind = "RSA" if isinstance(signer, signing.RsaSigner) else "HMAC"
    if isinstance(verifier, signing.RsaVerifier):
        callback = f"{len(verifier.public_keys)} RSA callback key(s)"
    else:
        callback = f"{len(verifier.keys)} HMAC callback key(s)"
    return Result(ok, _since(started), f"{request_kind} request key, {callback}")


def highhelp_url_result(settings: Settings) -> Result:
    """HighHelp's base URL is set (never called here); locally the built-in sandbox counts."""
    started = time.monotonic()
    if settings.highhelp_api_url is None:
        return Result(True, _since(started), "the built-in sandbox")
    # The host only: a URL may carry credentials.
    return Result(True, _since(started), urlsplit(settings.highhelp_api_url).hostname or "set")


def redis_result(app: Flask, redis_url: str) -> Result:
    """PING the Redis rate limits use, with their short timeouts."""
    started = time.monotonic()
    client: redis.Redis | None = app.extensions.get(REDIS_CLIENT_KEY)
    if client is None:
        client = redis.Redis.from_url(
            redis_url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT, socket_timeout=REDIS_READ_TIMEOUT
        )
        client = app.extensions.setdefault(REDIS_CLIENT_KEY, client)
    try:
        client.ping()
    except redis.RedisError as exc:
        return Result(False, _since(started), f"unreachable ({type(exc).__name__}): rate limits per process")
    return Result(True, _since(started), "answers")


def run_checks() -> dict[Check, Result]:
    """Every readiness check of the current app, in the order /readyz lists them."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = current_settings()
    state = probe_database(probe_engine(app))
    results = {
        Check.DATABASE: state.database,
        Check.MIGRATIONS: state.migrations,
        Check.KEYS: keys_result(settings),
        Check.HIGHHELP_URL: highhelp_url_result(settings),
    }
    if settings.redis_url:
        results[Check.REDIS] = redis_result(app, settings.redis_url)
    return results


@dataclass
class LastAnswer:
    """The latest probe's results, and a lock so that only one probe runs at a time."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    results: dict[Check, Result] | None = None
    taken_at: float = 0.0

    def fresh(self) -> bool:
        """True while the last answer may be given again."""
        return self.results is not None and time.monotonic() - self.taken_at < ANSWER_REUSED_SECONDS


def recent_checks() -> dict[Check, Result]:
    """The checks of at most ANSWER_REUSED_SECONDS ago; while one probe runs, others get the last answer."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    last: LastAnswer = app.extensions.setdefault(LAST_ANSWER_KEY, LastAnswer())
    if not last.fresh() and last.lock.acquire(blocking=last.results is None):
        try:
            if not last.fresh():  # another thread may have probed while this one waited
                last.results = run_checks()
                last.taken_at = time.monotonic()
        finally:
            last.lock.release()
    assert last.results is not None
    return last.results


def verdict(results: dict[Check, Result]) -> Status:
    """Ready, degraded (only an optional check failed) or not ready."""
    failed = {check for check, result in results.items() if not result.ok}
    if failed - OPTIONAL_CHECKS:
        return Status.NOT_READY
    return Status.DEGRADED if failed else Status.READY


def _since(started: float) -> float:
    return (time.monotonic() - started) * 1000
