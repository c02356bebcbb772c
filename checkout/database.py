"""The app's database engines: SQLite tuned for concurrent writers; PostgreSQL as it is."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from sqlalchemy import Engine, Update, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry

from .config import Settings
from .extensions import db
from .sqlite import WRITE_OPTION, tune_sqlite

# Connections a web process may open beyond one per thread: a request that needs a second one
# briefly (none does today) or a thread that has not yet returned its own.
POOL_OVERFLOW = 2
# Seconds a thread waits for a free connection. With a connection per thread it never waits; if it
# does, something holds connections it should not, and failing fast says so.
POOL_TIMEOUT = 5
# A connection handed back to the pool this recently was working then: it is used without a test.
# One idle for longer may have been cut meanwhile (a database restart, a failover, an idle timeout)
# and costs a round trip to test first. Testing every checkout (pool_pre_ping) would add a round
# trip to every request under load, when connections come back within milliseconds.
PING_AFTER_IDLE_SECONDS = 1.0
# Where a pooled connection keeps the time it was last handed back.
RETURNED_AT = "checkout.returned_at"


def engine_options(settings: Settings) -> dict[str, Any]:
    """SQLAlchemy engine options: a PostgreSQL pool of one connection per web thread.

    Each gunicorn worker is its own process with its own pool, so the database sees at most
    WEB_CONCURRENCY × (WEB_THREADS + POOL_OVERFLOW) connections from the web, plus one per reconcile
    worker and one for the release command (docs/DEPLOY.md has the budget).
    """
    options: dict[str, Any] = {}
    if settings.database_url.startswith("postgresql"):
        options.update(pool_size=settings.web_threads, max_overflow=POOL_OVERFLOW, pool_timeout=POOL_TIMEOUT)
    return options


def init_app(app: Flask) -> None:
    """Test idle connections before use on every engine; tune the SQLite ones."""
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine)
            if engine.dialect.name == "sqlite":
                tune_sqlite(engine)


def ping_idle_connections(engine: Engine) -> None:
    """Test a pooled connection before use when it sat idle over PING_AFTER_IDLE_SECONDS.

    A dead one is replaced by a new connection before the request sees it. A connection cut while
    in use (or within the last second) fails its statement instead; SQLAlchemy then discards every
    connection the pool held before the failure, so each process meets a dead connection once.
    """

    @event.listens_for(engine.pool, "checkin")
    def note_return(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        returned = record.info.get(RETURNED_AT)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out (or opens) another, up to 3 times.
            raise DisconnectionError("an idle pooled connection is gone") from exc


def begin_write() -> None:
    """Start the session's next transaction as a write: BEGIN IMMEDIATE on SQLite.

    Call it at the start of a use case that reads and then writes. A read-only transaction
    still open from earlier reads is ended first. On PostgreSQL it changes nothing.
    """
    if db.engine.dialect.name != "sqlite":
        return
    if db.session().in_transaction():
        db.session.commit()
    db.session.connection(execution_options={WRITE_OPTION: True})


def matched(statement: Update) -> bool:
    """Run a conditional UPDATE … RETURNING; True when it matched a row.

    What the database returns is the same on SQLite and PostgreSQL; rowcount is not always.
    """
    returned = db.session.execute(statement.execution_options(synchronize_session=False)).first()
    return returned is not None
